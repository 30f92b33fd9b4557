/* Peer measurement for docs/benchmarks.md: times MPI_Allreduce (float32, MPI_SUM) per message size with
 * the same conventions as `cluster bench allreduce`: 2 untimed warm-up rounds, median of K timed rounds,
 * busbw = bytes * 2(n-1)/n / time, every result checked against the exact reference.
 * Usage: mpirun -np N ./allreduce 4K,256K,4M,16M,64M */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long parse_size(const char *s) {
  char *end; long v = strtol(s, &end, 10);
  if (*end == 'K' || *end == 'k') v <<= 10; else if (*end == 'M' || *end == 'm') v <<= 20; else if (*end == 'G' || *end == 'g') v <<= 30;
  return v;
}
static int value(long i, int r) { return (int)((i * 7 + r * 13) % 17) - 8; }
static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, n; MPI_Comm_rank(MPI_COMM_WORLD, &rank); MPI_Comm_size(MPI_COMM_WORLD, &n);
  char *list = strdup(argc > 1 ? argv[1] : "4K,256K,4M,16M,64M");
  if (rank == 0) printf("%8s %12s %6s %10s %11s %11s %6s\n", "size", "bytes", "iters", "median ms", "algbw GB/s", "busbw GB/s", "check");
  for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
    long bytes = parse_size(tok), count = bytes / 4;
    long iters = (1L << 30) / (bytes > 0 ? bytes : 1); if (iters < 5) iters = 5; if (iters > 1000) iters = 1000;
    float *orig = malloc(bytes), *data = malloc(bytes); double *t = malloc(sizeof(double) * iters); long errors = 0;
    for (long i = 0; i < count; i++) orig[i] = (float)value(i, rank);
    for (long k = -2; k < iters; k++) {
      memcpy(data, orig, bytes);
      double s = MPI_Wtime();
      MPI_Allreduce(MPI_IN_PLACE, data, (int)count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
      double e = MPI_Wtime() - s;
      if (k >= 0) t[k] = e * 1e3;
      for (long i = 0; i < count; i++) { int ref = 0; for (int r = 0; r < n; r++) ref += value(i, r); if (data[i] != (float)ref) errors++; }
    }
    qsort(t, iters, sizeof(double), cmp);
    double med = t[iters / 2], worst; MPI_Allreduce(&med, &worst, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    long all_err; MPI_Allreduce(&errors, &all_err, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
    double algbw = bytes / (worst / 1e3) / 1e9, busbw = algbw * (n > 1 ? 2.0 * (n - 1) / n : 1.0);
    if (rank == 0) printf("%8s %12ld %6ld %10.4f %11.3f %11.3f %6s\n", tok, bytes, iters, worst, algbw, busbw, all_err ? "WRONG" : "ok");
    free(orig); free(data); free(t);
  }
  MPI_Finalize();
  return 0;
}
