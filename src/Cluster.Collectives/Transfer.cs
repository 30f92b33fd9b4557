namespace Cluster.Collectives;

/// <summary>Point transfers driven by the progress engine: send one span and/or receive one span, concurrently.</summary>
internal static class Transfer
{
    /// <summary>Sends <paramref name="send"/> to <paramref name="to"/> while receiving <paramref name="recv"/> from
    /// <paramref name="from"/>; either channel may be null. Returns when both are complete (headers included).</summary>
    public static void Exchange(OpContext ctx, Channel? to, ReadOnlySpan<byte> send, Channel? from, Span<byte> recv)
    {
        var sent = 0;
        var got = 0;
        var sendDone = to is null;
        var recvDone = from is null;
        while (!sendDone || !recvDone)
        {
            var progress = false;
            if (!sendDone)
            {
                sent += to!.Send(send[sent..], ref progress);
                sendDone = sent == send.Length && !to.SendHeaderPending;
            }
            if (!recvDone)
            {
                got += from!.Receive(recv[got..], ref progress);
                recvDone = got == recv.Length && !from.RecvHeaderPending;
            }
            if (progress) ctx.Progress();
            else if (!sendDone || !recvDone) ctx.Idle(recvDone ? null : from, sendDone ? null : to);
        }
    }
}
