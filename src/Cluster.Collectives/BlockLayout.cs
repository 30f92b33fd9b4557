namespace Cluster.Collectives;

/// <summary>Splits <c>count</c> elements into <c>blocks</c> nearly equal contiguous blocks (the first <c>count % blocks</c>
/// get one extra element). Offsets and lengths are in bytes.</summary>
internal readonly struct BlockLayout(int count, int blocks, int elementSize)
{
    private readonly int _base = count / blocks;
    private readonly int _extra = count % blocks;

    public int Offset(int block) => (block * _base + Math.Min(block, _extra)) * elementSize;

    public int Length(int block) => (_base + (block < _extra ? 1 : 0)) * elementSize;
}
