using System.Buffers.Binary;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Cluster.Collectives;

/// <summary>Who this side of a handshake is: the job, the generation, the rank and the shared secret.</summary>
internal sealed record HandshakeIdentity(string JobId, long Generation, int Rank, byte[] Secret);

/// <summary>Mutual HMAC-SHA256 challenge/response over a fresh TCP connection. Both sides prove they hold the job
/// secret; the MACs bind the purpose, job id, generation, both ranks and both nonces. Every length is checked
/// against a small maximum before anything is allocated, so garbage input costs nothing but the deadline.</summary>
internal static class Handshake
{
    public const byte PurposeMesh = 1;
    public const byte PurposeStore = 2;
    public const int MaxJobIdBytes = 256;
    private const uint Magic = 0x434C4D48; // "CLMH"
    private const byte Version = 1;
    private const int NonceBytes = 32;
    private const int MacBytes = 32;
    private const int HelloFixedBytes = 4 + 1 + 1 + 2 + 8 + 4 + 4 + NonceBytes;
    private const byte Accepted = 0xA5;

    /// <summary>Connector side. Returns normally once the acceptor has verified us and we have verified it.</summary>
    public static async Task ConnectAsync(Socket socket, HandshakeIdentity me, int toRank, byte purpose, CancellationToken ct)
    {
        var jobId = Encoding.UTF8.GetBytes(me.JobId);
        if (jobId.Length > MaxJobIdBytes) throw new ArgumentException($"JobId is longer than {MaxJobIdBytes} bytes.");
        var nonceC = RandomNumberGenerator.GetBytes(NonceBytes);
        var hello = new byte[HelloFixedBytes + jobId.Length];
        BinaryPrimitives.WriteUInt32BigEndian(hello, Magic);
        hello[4] = Version;
        hello[5] = purpose;
        BinaryPrimitives.WriteUInt16BigEndian(hello.AsSpan(6), (ushort)jobId.Length);
        BinaryPrimitives.WriteInt64BigEndian(hello.AsSpan(8), me.Generation);
        BinaryPrimitives.WriteInt32BigEndian(hello.AsSpan(16), me.Rank);
        BinaryPrimitives.WriteInt32BigEndian(hello.AsSpan(20), toRank);
        nonceC.CopyTo(hello, 24);
        jobId.CopyTo(hello, HelloFixedBytes);
        await SocketIO.WriteAllAsync(socket, hello, ct).ConfigureAwait(false);

        var reply = new byte[NonceBytes + MacBytes];
        await SocketIO.ReadExactAsync(socket, reply, ct).ConfigureAwait(false);
        var nonceA = reply.AsSpan(0, NonceBytes).ToArray();
        var expected = Mac(me.Secret, "acceptor", purpose, jobId, me.Generation, me.Rank, toRank, nonceC, nonceA);
        if (!CryptographicOperations.FixedTimeEquals(expected, reply.AsSpan(NonceBytes)))
            throw new AuthenticationFailedException("connect", me.Generation, toRank, "the peer could not prove it holds the job secret");
        var macC = Mac(me.Secret, "connector", purpose, jobId, me.Generation, me.Rank, toRank, nonceC, nonceA);
        await SocketIO.WriteAllAsync(socket, macC, ct).ConfigureAwait(false);
        var ok = new byte[1];
        await SocketIO.ReadExactAsync(socket, ok, ct).ConfigureAwait(false);
        if (ok[0] != Accepted) throw new AuthenticationFailedException("connect", me.Generation, toRank, "the peer refused the handshake");
    }

    /// <summary>Acceptor side. <paramref name="validatePeer"/> returns null to accept the claimed rank or a reason to refuse.
    /// Returns the authenticated peer rank; throws <see cref="HandshakeRefusedException"/> on anything else.</summary>
    public static async Task<int> AcceptAsync(Socket socket, HandshakeIdentity me, byte purpose, Func<int, string?> validatePeer, CancellationToken ct)
    {
        var hello = new byte[HelloFixedBytes];
        await SocketIO.ReadExactAsync(socket, hello, ct).ConfigureAwait(false);
        if (BinaryPrimitives.ReadUInt32BigEndian(hello) != Magic) throw new HandshakeRefusedException("bad magic (not a cluster peer)");
        if (hello[4] != Version) throw new HandshakeRefusedException($"unsupported protocol version {hello[4]}");
        if (hello[5] != purpose) throw new HandshakeRefusedException($"wrong purpose {hello[5]} (expected {purpose})");
        int jobIdLength = BinaryPrimitives.ReadUInt16BigEndian(hello.AsSpan(6));
        if (jobIdLength is 0 or > MaxJobIdBytes) throw new HandshakeRefusedException($"job id length {jobIdLength} out of range");
        var generation = BinaryPrimitives.ReadInt64BigEndian(hello.AsSpan(8));
        var fromRank = BinaryPrimitives.ReadInt32BigEndian(hello.AsSpan(16));
        var toRank = BinaryPrimitives.ReadInt32BigEndian(hello.AsSpan(20));
        var nonceC = hello.AsSpan(24, NonceBytes).ToArray();
        var jobId = new byte[jobIdLength];
        await SocketIO.ReadExactAsync(socket, jobId, ct).ConfigureAwait(false);

        var myJobId = Encoding.UTF8.GetBytes(me.JobId);
        if (!jobId.AsSpan().SequenceEqual(myJobId)) throw new HandshakeRefusedException($"wrong job id from claimed rank {fromRank}");
        if (generation != me.Generation) throw new HandshakeRefusedException($"wrong generation {generation} from claimed rank {fromRank} (this is generation {me.Generation})");
        if (toRank != me.Rank) throw new HandshakeRefusedException($"claimed rank {fromRank} addressed rank {toRank}, but this is rank {me.Rank}");
        if (validatePeer(fromRank) is { } reason) throw new HandshakeRefusedException(reason);

        var nonceA = RandomNumberGenerator.GetBytes(NonceBytes);
        var reply = new byte[NonceBytes + MacBytes];
        nonceA.CopyTo(reply, 0);
        Mac(me.Secret, "acceptor", purpose, myJobId, generation, fromRank, toRank, nonceC, nonceA).CopyTo(reply, NonceBytes);
        await SocketIO.WriteAllAsync(socket, reply, ct).ConfigureAwait(false);

        var macC = new byte[MacBytes];
        await SocketIO.ReadExactAsync(socket, macC, ct).ConfigureAwait(false);
        var expected = Mac(me.Secret, "connector", purpose, myJobId, generation, fromRank, toRank, nonceC, nonceA);
        if (!CryptographicOperations.FixedTimeEquals(expected, macC))
            throw new HandshakeRefusedException($"claimed rank {fromRank} failed the secret challenge (wrong secret)");
        await SocketIO.WriteAllAsync(socket, new[] { Accepted }, ct).ConfigureAwait(false);
        return fromRank;
    }

    private static byte[] Mac(byte[] secret, string role, byte purpose, byte[] jobId, long generation, int fromRank, int toRank, byte[] nonceC, byte[] nonceA)
    {
        var label = Encoding.ASCII.GetBytes("cluster-collectives/v1/" + role);
        var data = new byte[label.Length + 1 + 2 + jobId.Length + 8 + 4 + 4 + NonceBytes * 2];
        var span = data.AsSpan();
        label.CopyTo(span);
        var o = label.Length;
        span[o++] = purpose;
        BinaryPrimitives.WriteUInt16BigEndian(span[o..], (ushort)jobId.Length); o += 2;
        jobId.CopyTo(span[o..]); o += jobId.Length;
        BinaryPrimitives.WriteInt64BigEndian(span[o..], generation); o += 8;
        BinaryPrimitives.WriteInt32BigEndian(span[o..], fromRank); o += 4;
        BinaryPrimitives.WriteInt32BigEndian(span[o..], toRank); o += 4;
        nonceC.CopyTo(span[o..]); o += NonceBytes;
        nonceA.CopyTo(span[o..]);
        return HMACSHA256.HashData(secret, data);
    }
}

/// <summary>An incoming connection failed the handshake; the listener logs it, closes the socket and keeps going.</summary>
internal sealed class HandshakeRefusedException(string reason) : Exception(reason);
