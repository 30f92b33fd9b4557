using System.Diagnostics;
using System.Text.RegularExpressions;
using Xunit;

namespace Cluster.IntegrationTests;

/// <summary>The front door: README's commands, CI's entry point and the bootstrap stay consistent.</summary>
public sealed class RepoSetupTests
{
    [Fact]
    public void Ci_runs_the_readme_test_command_verbatim()
    {
        var readme = File.ReadAllText(Path.Combine(RepoPaths.Root, "README.md"));
        var block = Regex.Match(readme, "```bash\\n(?<body>.*?)```", RegexOptions.Singleline);
        Assert.True(block.Success, "README has no bash block");
        var commands = block.Groups["body"].Value.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        Assert.True(commands.Count >= 2, "README's first block must hold the run command and the test command");
        var ci = File.ReadAllLines(Path.Combine(RepoPaths.Root, ".ci", "run")).Select(l => l.Trim());
        Assert.Contains(commands[1], ci);
    }

    [Fact]
    public async Task Bootstrap_is_idempotent_and_leaves_a_new_enough_libstdcxx()
    {
        var script = Path.Combine(RepoPaths.Root, "deploy", "bootstrap.sh");
        // The suite itself ran the bootstrap first, so this run must find everything in place and change nothing.
        var sources = Directory.GetFiles("/etc/apt/sources.list.d").Select(f => (f, File.ReadAllText(f))).ToList();
        var info = new ProcessStartInfo("bash", [script]) { RedirectStandardError = true, RedirectStandardOutput = true };
        using var process = Process.Start(info)!;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(cts.Token);
        var stderr = await process.StandardError.ReadToEndAsync(cts.Token);
        Assert.True(process.ExitCode == 0, stderr);
        Assert.DoesNotContain("installing", stderr);
        Assert.DoesNotContain("adding Debian 13", stderr);
        Assert.Equal(sources, Directory.GetFiles("/etc/apt/sources.list.d").Select(f => (f, File.ReadAllText(f))).ToList());
        var libstdcxx = await File.ReadAllBytesAsync("/usr/lib/x86_64-linux-gnu/libstdc++.so.6", cts.Token);
        Assert.True(System.Text.Encoding.ASCII.GetString(libstdcxx).Contains("GLIBCXX_3.4.32"), "libstdc++ lacks GLIBCXX_3.4.32 (GCC 13)");
    }
}
