using System.Buffers;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace Cluster.Training.Data;

/// <summary>
/// Images listed as (path, label), decoded on demand with ImageSharp (PNG, JPEG, BMP, GIF) to grayscale
/// (1 channel) or RGB (3 channels) and resized to the configured size. Build it with
/// <see cref="FromFolder"/> (one sub-folder per class) or <see cref="FromCsv"/> (<c>path,label</c> lines).
/// </summary>
public sealed class ImageFileDataset : IDataset
{
    private static readonly string[] Extensions = [".png", ".jpg", ".jpeg", ".bmp", ".gif"];
    private readonly string[] _paths;
    private readonly int[] _labels;

    public ImageFileDataset(IReadOnlyList<(string Path, int Label)> items, SampleShape shape, int numClasses, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(items);
        shape.Validate();
        if (items.Count == 0) throw new ArgumentException("The image list is empty.", nameof(items));
        if (numClasses <= 0) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "numClasses must be positive.");
        _paths = new string[items.Count];
        _labels = new int[items.Count];
        for (int i = 0; i < items.Count; i++)
        {
            var (path, label) = items[i];
            if ((uint)label >= (uint)numClasses)
                throw new ArgumentException($"Label {label} of {path} is outside [0, {numClasses}).", nameof(items));
            _paths[i] = path;
            _labels[i] = label;
        }
        Shape = shape;
        NumClasses = numClasses;
        ClassNames = classNames ?? Enumerable.Range(0, numClasses).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
    }

    public int Count => _paths.Length;
    public int NumClasses { get; }
    public SampleShape Shape { get; }
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>One sub-folder per class (sorted ordinally = label order), image files inside it (sorted ordinally).</summary>
    public static ImageFileDataset FromFolder(string root, SampleShape shape)
    {
        if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"Image folder not found: {root}");
        var classDirs = Directory.GetDirectories(root).OrderBy(d => d, StringComparer.Ordinal).ToArray();
        if (classDirs.Length == 0) throw new InvalidDataException($"Image folder {root} has no class sub-folders.");
        var items = new List<(string, int)>();
        for (int c = 0; c < classDirs.Length; c++)
        {
            foreach (var file in Directory.GetFiles(classDirs[c]).OrderBy(f => f, StringComparer.Ordinal))
            {
                if (Extensions.Contains(Path.GetExtension(file).ToLowerInvariant())) items.Add((file, c));
            }
        }
        if (items.Count == 0) throw new InvalidDataException($"Image folder {root} has no images ({string.Join(", ", Extensions)}) in its class sub-folders.");
        return new ImageFileDataset(items, shape, classDirs.Length, classDirs.Select(Path.GetFileName).ToArray()!);
    }

    /// <summary>
    /// A CSV of <c>path,label</c> lines (an optional header line is skipped; relative paths are relative to the
    /// CSV's folder; the label is the text after the last comma). <paramref name="numClasses"/> defaults to max label + 1.
    /// </summary>
    public static ImageFileDataset FromCsv(string csvPath, SampleShape shape, int? numClasses = null)
    {
        if (!File.Exists(csvPath)) throw new FileNotFoundException($"CSV file not found: {csvPath}", csvPath);
        string baseDir = Path.GetDirectoryName(Path.GetFullPath(csvPath))!;
        var items = new List<(string, int)>();
        int lineNo = 0;
        foreach (var raw in File.ReadLines(csvPath))
        {
            lineNo++;
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            int comma = line.LastIndexOf(',');
            if (comma <= 0) throw new InvalidDataException($"{csvPath}:{lineNo}: expected 'path,label', got '{line}'.");
            var pathText = line[..comma].Trim().Trim('"');
            var labelText = line[(comma + 1)..].Trim();
            if (!int.TryParse(labelText, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int label))
            {
                if (items.Count == 0 && lineNo == 1) continue; // header
                throw new InvalidDataException($"{csvPath}:{lineNo}: label '{labelText}' is not an integer.");
            }
            if (label < 0) throw new InvalidDataException($"{csvPath}:{lineNo}: label {label} is negative.");
            items.Add((Path.IsPathRooted(pathText) ? pathText : Path.Combine(baseDir, pathText), label));
        }
        if (items.Count == 0) throw new InvalidDataException($"CSV {csvPath} lists no images.");
        int classes = numClasses ?? items.Max(i => i.Item2) + 1;
        return new ImageFileDataset(items, shape, classes);
    }

    public int GetLabel(int index) => _labels[index];

    public int Get(int index, Span<float> destination)
    {
        DatasetGuard.CheckGet(this, index, destination);
        string path = _paths[index];
        try
        {
            if (Shape.Channels == 1) DecodeGray(path, destination);
            else DecodeRgb(path, destination);
        }
        catch (Exception ex) when (ex is UnknownImageFormatException or InvalidImageContentException or IOException)
        {
            throw new InvalidDataException($"Cannot decode image {path} (sample {index}): {ex.Message}", ex);
        }
        return _labels[index];
    }

    private void DecodeGray(string path, Span<float> destination)
    {
        using var image = Image.Load<L8>(path);
        if (image.Width != Shape.Width || image.Height != Shape.Height) image.Mutate(x => x.Resize(Shape.Width, Shape.Height));
        var buffer = ArrayPool<L8>.Shared.Rent(Shape.Height * Shape.Width);
        try
        {
            var pixels = buffer.AsSpan(0, Shape.Height * Shape.Width);
            image.CopyPixelDataTo(pixels);
            for (int i = 0; i < pixels.Length; i++) destination[i] = pixels[i].PackedValue / 255f;
        }
        finally { ArrayPool<L8>.Shared.Return(buffer); }
    }

    private void DecodeRgb(string path, Span<float> destination)
    {
        using var image = Image.Load<Rgb24>(path);
        if (image.Width != Shape.Width || image.Height != Shape.Height) image.Mutate(x => x.Resize(Shape.Width, Shape.Height));
        int plane = Shape.Height * Shape.Width;
        var buffer = ArrayPool<Rgb24>.Shared.Rent(plane);
        try
        {
            var pixels = buffer.AsSpan(0, plane);
            image.CopyPixelDataTo(pixels);
            for (int i = 0; i < plane; i++)
            {
                destination[i] = pixels[i].R / 255f;
                destination[plane + i] = pixels[i].G / 255f;
                destination[2 * plane + i] = pixels[i].B / 255f;
            }
        }
        finally { ArrayPool<Rgb24>.Shared.Return(buffer); }
    }
}
