namespace Cluster.Training.Data;

/// <summary>
/// Fashion-MNIST (or MNIST: same format) from IDX files, decoded once into memory as uint8.
/// Samples are 1x28x28 floats in [0, 1].
/// </summary>
public sealed class FashionMnistDataset : IDataset
{
    /// <summary>Where Debian's dataset-fashion-mnist package installs the files.</summary>
    public const string DefaultDirectory = "/usr/share/datasets/fashion-mnist";

    private const float Scale = 1f / 255f;
    private readonly byte[] _images;
    private readonly byte[] _labels;
    private readonly int _pixels;

    public FashionMnistDataset(string imagesPath, string labelsPath, int numClasses = 10)
    {
        if (numClasses is <= 0 or > 256) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "numClasses must be in [1, 256].");
        var (imageDims, images) = IdxFile.ReadUBytes(imagesPath, IdxFile.UByteImagesMagic);
        var (labelDims, labels) = IdxFile.ReadUBytes(labelsPath, IdxFile.UByteLabelsMagic);
        if (imageDims[0] != labelDims[0])
            throw new InvalidDataException($"{imagesPath} holds {imageDims[0]} images but {labelsPath} holds {labelDims[0]} labels.");
        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i] >= numClasses)
                throw new InvalidDataException($"Label {labels[i]} at index {i} in {labelsPath} is outside [0, {numClasses}).");
        }
        _images = images;
        _labels = labels;
        Shape = new SampleShape(1, imageDims[1], imageDims[2]);
        _pixels = Shape.Elements;
        NumClasses = numClasses;
        ImagesPath = imagesPath;
        LabelsPath = labelsPath;
    }

    /// <summary>Opens the standard file names of <paramref name="split"/> in <paramref name="directory"/> (".gz" preferred, raw accepted).</summary>
    public static FashionMnistDataset Open(string? directory, FashionMnistSplit split)
    {
        directory = string.IsNullOrWhiteSpace(directory) ? DefaultDirectory : directory;
        string prefix = split == FashionMnistSplit.Train ? "train" : "t10k";
        return new FashionMnistDataset(
            Resolve(directory, $"{prefix}-images-idx3-ubyte"),
            Resolve(directory, $"{prefix}-labels-idx1-ubyte"));
    }

    private static string Resolve(string directory, string baseName)
    {
        string gz = Path.Combine(directory, baseName + ".gz");
        if (File.Exists(gz)) return gz;
        string raw = Path.Combine(directory, baseName);
        if (File.Exists(raw)) return raw;
        throw new FileNotFoundException($"Fashion-MNIST file not found: neither {gz} nor {raw} exists.", gz);
    }

    public string ImagesPath { get; }
    public string LabelsPath { get; }
    public int Count => _labels.Length;
    public int NumClasses { get; }
    public SampleShape Shape { get; }

    public int Get(int index, Span<float> destination)
    {
        DatasetGuard.CheckGet(this, index, destination);
        ReadOnlySpan<byte> src = _images.AsSpan(index * _pixels, _pixels);
        for (int i = 0; i < src.Length; i++) destination[i] = src[i] * Scale;
        return _labels[index];
    }

    public int GetLabel(int index) => _labels[index];

    /// <summary>The raw uint8 pixels of one sample (no copy).</summary>
    public ReadOnlySpan<byte> GetRaw(int index) => _images.AsSpan(index * _pixels, _pixels);
}
