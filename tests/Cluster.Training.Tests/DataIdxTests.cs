using System.Buffers.Binary;
using System.IO.Compression;
using Cluster.Training.Data;
using Xunit;

namespace Cluster.Training.Tests;

public sealed class DataIdxTests
{
    internal static void WriteIdx(string path, int magic, int[] dims, byte[] data, bool gzip = true)
    {
        using var file = File.Create(path);
        using Stream s = gzip ? new GZipStream(file, CompressionLevel.Fastest) : file;
        Span<byte> four = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(four, magic);
        s.Write(four);
        foreach (var d in dims) { BinaryPrimitives.WriteInt32BigEndian(four, d); s.Write(four); }
        s.Write(data);
    }

    private static (string Images, string Labels) WriteSet(TempDir dir, int n, int h = 4, int w = 5)
    {
        var images = new byte[n * h * w];
        for (int i = 0; i < images.Length; i++) images[i] = (byte)(i * 7);
        var labels = new byte[n];
        for (int i = 0; i < n; i++) labels[i] = (byte)(i % 10);
        string ip = dir.Combine("train-images-idx3-ubyte.gz"), lp = dir.Combine("train-labels-idx1-ubyte.gz");
        WriteIdx(ip, IdxFile.UByteImagesMagic, [n, h, w], images);
        WriteIdx(lp, IdxFile.UByteLabelsMagic, [n], labels);
        return (ip, lp);
    }

    [Fact]
    public void Reads_idx_gzip_files_into_scaled_samples()
    {
        using var dir = new TempDir();
        WriteSet(dir, 30);
        var ds = FashionMnistDataset.Open(dir.Path, FashionMnistSplit.Train);
        Assert.Equal(30, ds.Count);
        Assert.Equal(new SampleShape(1, 4, 5), ds.Shape);
        var buf = new float[20];
        int label = ds.Get(3, buf);
        Assert.Equal(3, label);
        Assert.Equal(unchecked((byte)(60 * 7)) / 255f, buf[0], 6);
        Assert.Equal(unchecked((byte)(79 * 7)) / 255f, buf[19], 6);
    }

    [Fact]
    public void Bad_magic_names_the_file_and_both_magics()
    {
        using var dir = new TempDir();
        var (_, lp) = WriteSet(dir, 10);
        WriteIdx(lp, IdxFile.UByteImagesMagic, [10, 1, 1], new byte[10]);
        var ex = Assert.Throws<InvalidDataException>(() => FashionMnistDataset.Open(dir.Path, FashionMnistSplit.Train));
        Assert.Contains("Bad magic 0x00000803", ex.Message);
        Assert.Contains(lp, ex.Message);
        Assert.Contains("expected 0x00000801", ex.Message);
    }

    [Fact]
    public void Truncated_and_oversized_files_are_refused_before_use()
    {
        using var dir = new TempDir();
        var (ip, _) = WriteSet(dir, 10);
        WriteIdx(ip, IdxFile.UByteImagesMagic, [10, 4, 5], new byte[199]);
        var ex = Assert.Throws<InvalidDataException>(() => FashionMnistDataset.Open(dir.Path, FashionMnistSplit.Train));
        Assert.Contains("Truncated data", ex.Message);
        Assert.Contains(ip, ex.Message);

        WriteIdx(ip, IdxFile.UByteImagesMagic, [100000, 100000, 100], new byte[10]);
        ex = Assert.Throws<InvalidDataException>(() => FashionMnistDataset.Open(dir.Path, FashionMnistSplit.Train));
        Assert.Contains("declares more than", ex.Message);

        WriteIdx(ip, IdxFile.UByteImagesMagic, [10, 4, 5], new byte[201]);
        ex = Assert.Throws<InvalidDataException>(() => FashionMnistDataset.Open(dir.Path, FashionMnistSplit.Train));
        Assert.Contains("Trailing bytes", ex.Message);

        File.WriteAllBytes(ip, [0x1f, 0x8b, 8, 0, 1, 2, 3]);
        ex = Assert.Throws<InvalidDataException>(() => FashionMnistDataset.Open(dir.Path, FashionMnistSplit.Train));
        Assert.Contains(ip, ex.Message);
    }

    [Fact]
    public void Count_mismatch_and_missing_files_are_refused()
    {
        using var dir = new TempDir();
        var (_, lp) = WriteSet(dir, 10);
        WriteIdx(lp, IdxFile.UByteLabelsMagic, [9], new byte[9]);
        var ex = Assert.Throws<InvalidDataException>(() => FashionMnistDataset.Open(dir.Path, FashionMnistSplit.Train));
        Assert.Contains("10 images but", ex.Message);
        var missing = Assert.Throws<FileNotFoundException>(() => FashionMnistDataset.Open(dir.Path, FashionMnistSplit.Test));
        Assert.Contains("t10k-images-idx3-ubyte", missing.Message);
    }

    [Fact]
    public void Real_fashion_mnist_test_split_has_10000_28x28_samples()
    {
        string dir = FashionMnistDataset.DefaultDirectory;
        if (!File.Exists(Path.Combine(dir, "t10k-images-idx3-ubyte.gz")))
        {
            // Not installed here: opening must fail with a clear message instead.
            Assert.Throws<FileNotFoundException>(() => FashionMnistDataset.Open(dir, FashionMnistSplit.Test));
            return;
        }
        var ds = FashionMnistDataset.Open(dir, FashionMnistSplit.Test);
        Assert.Equal(10_000, ds.Count);
        Assert.Equal(new SampleShape(1, 28, 28), ds.Shape);
        var labels = Enumerable.Range(0, ds.Count).Select(ds.GetLabel).ToArray();
        Assert.Equal(0, labels.Min());
        Assert.Equal(9, labels.Max());
        Assert.All(Enumerable.Range(0, 10), c => Assert.Equal(1000, labels.Count(l => l == c)));
        var buf = new float[784];
        ds.Get(0, buf);
        Assert.InRange(buf.Max(), 0.5f, 1f);
        Assert.Equal(0f, buf.Min());
    }
}
