using System.Diagnostics;
using System.Text;
using Cluster.Collectives.Shm;
using Xunit;

namespace Cluster.Collectives.Tests;

/// <summary>The peer is a real child process (bash + dd) that writes the opener side of the layout straight into
/// the link file, then dies without closing: the creator must see its bytes, then notice the death.</summary>
public sealed class ShmChildProcessTests
{
    private const string ChildScript = """
        set -e
        f="$1"; cap="$2"; msg="$3"
        le() { local v=$1 n=$2 out="" i; for ((i = 0; i < n; i++)); do out+=$(printf '\\x%02x' $(( (v >> (8 * i)) & 255 ))); done; printf "$out"; }
        put() { dd of="$f" bs=1 seek="$1" conv=notrunc status=none; }
        le $$ 4 | put 20                                  # opener pid
        printf '%s' "$msg" | put $(( 4096 + cap ))        # ring 1 data (opener -> creator)
        le ${#msg} 8 | put 384                            # ring 1 head: publish after the data
        exit 0                                            # dies without setting its closed flag
        """;

    [Fact]
    public void BytesFromAChildProcessArriveAndItsDeathIsDetected()
    {
        const int capacity = 4096;
        const string message = "hello from a real child process";
        using var link = ShmLink.Create(ShmLink.NewName("test-shm"), 1, capacity);
        var psi = new ProcessStartInfo("bash") { UseShellExecute = false, RedirectStandardError = true };
        foreach (var a in new[] { "-c", ChildScript, "child", link.FilePath, capacity.ToString(System.Globalization.CultureInfo.InvariantCulture), message })
            psi.ArgumentList.Add(a);
        using var child = Process.Start(psi)!;
        try
        {
            Assert.True(child.WaitForExit(20_000), "child did not finish");
            Assert.True(child.ExitCode == 0, $"child failed: {child.StandardError.ReadToEnd()}");

            var got = new byte[message.Length];
            var received = 0;
            var sw = Stopwatch.StartNew();
            while (received < got.Length && sw.Elapsed < TimeSpan.FromSeconds(10))
                received += link.TryReceive(got.AsSpan(received));
            Assert.Equal(message, Encoding.ASCII.GetString(got, 0, received));

            sw.Restart();
            while (!link.PeerGone && sw.ElapsedMilliseconds < 2000) Thread.SpinWait(100);
            Assert.True(link.PeerGone, "death of the child was not detected");
            Assert.True(sw.ElapsedMilliseconds < 100, $"detected after {sw.ElapsedMilliseconds} ms");
            var ex = Assert.Throws<IOException>(() => link.TryReceive(got));
            Assert.Contains($"process {child.Id}", ex.Message);
        }
        finally
        {
            if (!child.HasExited) child.Kill(entireProcessTree: true);
        }
    }
}
