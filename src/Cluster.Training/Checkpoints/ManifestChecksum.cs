using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Cluster.Training.Checkpoints;

/// <summary>
/// SHA-256 over a canonical text form of the manifest (not its JSON bytes), so verification does not depend on
/// how a JSON serializer formats or escapes values.
/// </summary>
internal static class ManifestChecksum
{
    public static string Compute(CheckpointManifest manifest)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"v{manifest.FormatVersion}\nstep {manifest.Step}\ncreated {manifest.CreatedUtc.UtcTicks}\n");
        foreach (var f in manifest.Files ?? [])
        {
            text.Append(CultureInfo.InvariantCulture, $"{f.Name?.Length}:{f.Name} {f.Size} {f.Sha256}\n");
        }
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }
}
