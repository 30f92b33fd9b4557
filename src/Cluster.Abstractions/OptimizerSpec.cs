namespace Cluster.Abstractions;

public sealed class OptimizerSpec
{
    public static readonly IReadOnlyList<string> Types = ["sgd", "adam", "adamw", "rmsprop"];

    public string Type { get; set; } = "sgd";
    public double Lr { get; set; } = 0.01;
    public double Momentum { get; set; }
    public bool Nesterov { get; set; }
    public double WeightDecay { get; set; }
    public List<double> Betas { get; set; } = [0.9, 0.999];
    public double Eps { get; set; } = 1e-8;

    internal void Validate(string path, List<JobSpecError> errors)
    {
        SpecChecks.OneOf($"{path}.type", Type, Types, errors);
        SpecChecks.Positive($"{path}.lr", Lr, errors);
        if (!(Momentum >= 0 && Momentum < 1)) errors.Add(new($"{path}.momentum", $"must be in [0, 1) (got {Momentum})"));
        if (Nesterov && (Type != "sgd" || Momentum <= 0))
            errors.Add(new($"{path}.nesterov", "needs type 'sgd' and momentum > 0"));
        SpecChecks.NonNegative($"{path}.weightDecay", WeightDecay, errors);
        if (Betas.Count != 2 || Betas.Any(b => !(b >= 0 && b < 1)))
            errors.Add(new($"{path}.betas", $"must be two numbers in [0, 1) (got [{string.Join(", ", Betas)}])"));
        SpecChecks.Positive($"{path}.eps", Eps, errors);
    }
}
