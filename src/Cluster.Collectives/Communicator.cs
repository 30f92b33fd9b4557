namespace Cluster.Collectives;

/// <summary>Creates communicators: from explicit options (the coordinator's rendezvous), or torch-style from the
/// environment (env://: MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE, CLUSTER_JOB_ID, CLUSTER_GENERATION, CLUSTER_SECRET).</summary>
public static class Communicator
{
    /// <summary>Binds this rank's listener on <c>0.0.0.0:Peers[Rank].Port</c> (the communicator owns it), connects this
    /// rank's topology partners (<see cref="PeerTopology"/>) and returns the communicator.</summary>
    public static async Task<ICommunicator> CreateAsync(CommunicatorOptions options, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        RejectUnavailableBackends(options);
        if (options.WorldSize == 1 && options.Transport != TransportKind.Nccl) return new MeshCommunicator(options, new Channel?[1], null);
        var listener = CommunicatorListener.Bind("0.0.0.0", options.Peers[options.Rank].Port, options.SocketBufferBytes);
        try
        {
            return await CreateAsync(options, listener, ownsListener: true, ct).ConfigureAwait(false);
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    }

    /// <summary>Connects this rank's topology partners, accepting peers on an already bound <paramref name="listener"/>
    /// (which the caller disposes). The communicator keeps accepting on it until it is disposed: keep the listener open
    /// as long as the communicator if Send/Recv may address ranks outside the topology (they connect on first use).</summary>
    public static Task<ICommunicator> CreateAsync(CommunicatorOptions options, CommunicatorListener listener, CancellationToken ct) =>
        CreateAsync(options, listener, ownsListener: false, ct);

    internal static async Task<ICommunicator> CreateAsync(CommunicatorOptions options, CommunicatorListener listener, bool ownsListener, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(listener);
        options.Validate();
        RejectUnavailableBackends(options);
        if (options.Transport == TransportKind.Nccl) return await CreateNcclAsync(options, listener, ownsListener, ct).ConfigureAwait(false);
        if (options.WorldSize == 1)
        {
            if (ownsListener) listener.Dispose();
            return new MeshCommunicator(options, new Channel?[1], null);
        }
        return await ConnectMeshAsync(options, listener, ownsListener, ct).ConfigureAwait(false);
    }

    private static async Task<MeshCommunicator> ConnectMeshAsync(CommunicatorOptions options, CommunicatorListener listener, bool ownsListener, CancellationToken ct)
    {
        var connector = new MeshConnector(options, ownsListener ? listener : null);
        var channels = await connector.ConnectAsync(listener, ct).ConfigureAwait(false);
        return new MeshCommunicator(options, channels, connector);
    }

    /// <summary>NCCL: an authenticated TCP mesh bootstraps it (unique id exchange) and carries the operations NCCL
    /// does not; the NCCL communicator owns the bootstrap.</summary>
    private static async Task<ICommunicator> CreateNcclAsync(CommunicatorOptions options, CommunicatorListener listener, bool ownsListener, CancellationToken ct)
    {
        Nccl.NcclApi.Load(); // fails at once with BackendUnavailableException when NCCL or CUDA is missing
        var tcp = options with { Transport = TransportKind.Tcp };
        if (tcp.WorldSize == 1 && ownsListener) listener.Dispose();
        ICommunicator bootstrap = tcp.WorldSize == 1
            ? new MeshCommunicator(tcp, new Channel?[1], null)
            : await ConnectMeshAsync(tcp, listener, ownsListener, ct).ConfigureAwait(false);
        try
        {
            return await Nccl.NcclCommunicator.CreateAsync(options, bootstrap, CudaDeviceOf(options), ct).ConfigureAwait(false);
        }
        catch
        {
            await bootstrap.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary><see cref="CommunicatorOptions.CudaDevice"/>, or this rank's index among the ranks of its host.</summary>
    internal static int CudaDeviceOf(CommunicatorOptions options)
    {
        if (options.CudaDevice >= 0) return options.CudaDevice;
        var host = options.Peers[options.Rank].HostId;
        return options.Peers.Take(options.Rank).Count(p => p.HostId == host);
    }

    /// <summary>env:// rendezvous: rank 0 serves a small authenticated store on MASTER_PORT from which every rank
    /// learns every other rank's listen address; then the mesh is connected as usual.</summary>
    public static Task<ICommunicator> FromEnvironmentAsync(CancellationToken ct) =>
        EnvironmentRendezvous.CreateAsync(EnvironmentRendezvous.ReadSettings(Environment.GetEnvironmentVariable), ct);

    private static void RejectUnavailableBackends(CommunicatorOptions options)
    {
        switch (options.Transport)
        {
            case TransportKind.Shm when !OperatingSystem.IsLinux():
                throw new BackendUnavailableException("shm", "the shared-memory transport needs Linux (/dev/shm)");
            case TransportKind.Shm:
                var mine = options.Peers[options.Rank].HostId;
                if (options.Peers.FirstOrDefault(p => p.Port != 0 && p.HostId != mine) is { } other)
                    throw new BackendUnavailableException("shm", $"rank {other.Rank} is on host '{other.HostId}', not on this rank's host '{mine}'");
                break;
        }
    }
}
