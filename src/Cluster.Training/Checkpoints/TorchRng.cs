using TorchSharp;

namespace Cluster.Training.Checkpoints;

/// <summary>Capture/restore TorchSharp's default CPU generator state as bytes.</summary>
public static class TorchRng
{
    public const string Key = "torch";

    public static byte[] Capture()
    {
        using var state = torch.get_rng_state();
        return state.bytes.ToArray();
    }

    public static void Restore(byte[] state)
    {
        ArgumentNullException.ThrowIfNull(state);
        using var t = torch.tensor(state, torch.ScalarType.Byte);
        torch.set_rng_state(t);
    }
}
