{{- define "cluster.redisEndpoint" -}}
{{- if .Values.redis.enabled -}}{{ .Release.Name }}-redis:6379{{- else -}}{{ required "redis.endpoint is required when redis.enabled=false" .Values.redis.endpoint }}{{- end -}}
{{- end -}}
