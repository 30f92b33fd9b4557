using Cluster.Abstractions;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Cluster.Training.Engine;

/// <summary>Creates the TorchSharp optimizer named in an <see cref="OptimizerSpec"/> over the given parameters.</summary>
public static class OptimizerFactory
{
    public static optim.Optimizer Create(OptimizerSpec spec, IEnumerable<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var list = parameters.ToList();
        if (list.Count == 0) throw new ArgumentException("no trainable parameters (are all of them frozen?)", nameof(parameters));
        return spec.Type switch
        {
            "sgd" => optim.SGD(list, spec.Lr, momentum: spec.Momentum, weight_decay: spec.WeightDecay, nesterov: spec.Nesterov),
            "adam" => optim.Adam(list, spec.Lr, beta1: spec.Betas[0], beta2: spec.Betas[1], eps: spec.Eps, weight_decay: spec.WeightDecay),
            "adamw" => optim.AdamW(list, spec.Lr, beta1: spec.Betas[0], beta2: spec.Betas[1], eps: spec.Eps, weight_decay: spec.WeightDecay),
            "rmsprop" => optim.RMSProp(list, spec.Lr, eps: spec.Eps, weight_decay: spec.WeightDecay, momentum: spec.Momentum),
            _ => throw new ArgumentException($"unknown optimizer '{spec.Type}'", nameof(spec)),
        };
    }
}
