using System.Runtime.InteropServices;

namespace Cluster.Training.Engine;

/// <summary>
/// libtorch's CPU kernels run their intra-op threads under OpenMP (libgomp), whose idle threads spin-wait by default
/// (OMP_WAIT_POLICY=ACTIVE). On a machine whose cores are shared with other processes a spinning thread holds a core the
/// thread it waits for needs, and every parallel region can cost a scheduler time slice (measured with `cluster bench step
/// --threads 2` on a busy 2-core machine: the step median dropped several-fold with PASSIVE). libgomp reads the variable
/// once, when libtorch is loaded, and .NET's Environment.SetEnvironmentVariable does not reach the native environment,
/// so <see cref="Apply"/> sets it with libc setenv and must run before the first use of TorchSharp in the process.
/// </summary>
public static partial class OpenMpWaitPolicy
{
    private const string Variable = "OMP_WAIT_POLICY";

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);

    [LibraryImport("libc", EntryPoint = "getenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr GetEnv(string name);

    /// <summary>The policy in the native environment (what libgomp reads), or null when unset or not on Linux.</summary>
    public static string? Current => OperatingSystem.IsLinux() && GetEnv(Variable) is var p && p != IntPtr.Zero ? Marshal.PtrToStringUTF8(p) : null;

    /// <summary>Sets OMP_WAIT_POLICY to <paramref name="policy"/> ("PASSIVE" or "ACTIVE") unless it is already set and
    /// <paramref name="overwrite"/> is false. Returns the policy now in effect. Call before TorchSharp is first used.</summary>
    public static string? Apply(string policy, bool overwrite = false)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var upper = policy.ToUpperInvariant();
        if (upper is not ("PASSIVE" or "ACTIVE")) throw new ArgumentException($"OpenMP wait policy must be PASSIVE or ACTIVE (got '{policy}')", nameof(policy));
        if (!OperatingSystem.IsLinux()) return null;
        if (SetEnv(Variable, upper, overwrite ? 1 : 0) != 0) throw new InvalidOperationException($"setenv({Variable}) failed");
        return Current;
    }
}
