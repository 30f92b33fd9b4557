using Cluster.Training.Data;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using Xunit;

namespace Cluster.Training.Tests;

public sealed class DataImageTests
{
    private static void WriteImage(string path, int w, int h, Rgb24 color)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var img = new Image<Rgb24>(w, h, color);
        if (path.EndsWith(".png", StringComparison.Ordinal)) img.SaveAsPng(path); else img.SaveAsJpeg(path);
    }

    [Fact]
    public void Image_folder_decodes_and_resizes_to_rgb_and_gray()
    {
        using var dir = new TempDir();
        WriteImage(dir.Combine("cat", "a.png"), 10, 6, new Rgb24(255, 0, 0));
        WriteImage(dir.Combine("cat", "b.jpg"), 8, 8, new Rgb24(250, 0, 0));
        WriteImage(dir.Combine("dog", "c.png"), 16, 16, new Rgb24(0, 0, 255));
        File.WriteAllText(dir.Combine("dog", "notes.txt"), "ignored");

        var rgb = ImageFileDataset.FromFolder(dir.Path, new SampleShape(3, 4, 4));
        Assert.Equal(3, rgb.Count);
        Assert.Equal(["cat", "dog"], rgb.ClassNames);
        var buf = new float[48];
        Assert.Equal(1, rgb.Get(2, buf));
        Assert.Equal(0f, buf[0], 2);          // R plane
        Assert.Equal(1f, buf[32], 2);         // B plane
        Assert.Equal(0, rgb.Get(0, buf));
        Assert.Equal(1f, buf[5], 2);

        var gray = ImageFileDataset.FromFolder(dir.Path, new SampleShape(1, 5, 5));
        var g = new float[25];
        gray.Get(2, g);
        Assert.All(g, v => Assert.InRange(v, 0.05f, 0.2f)); // blue → luminance ≈ 0.07..0.11
    }

    [Fact]
    public void Csv_lists_relative_paths_with_an_optional_header()
    {
        using var dir = new TempDir();
        WriteImage(dir.Combine("img", "x.png"), 4, 4, new Rgb24(255, 255, 255));
        WriteImage(dir.Combine("img", "y.png"), 4, 4, new Rgb24(0, 0, 0));
        File.WriteAllText(dir.Combine("list.csv"), "path,label\nimg/x.png,2\nimg/y.png,0\n");
        var ds = ImageFileDataset.FromCsv(dir.Combine("list.csv"), new SampleShape(1, 4, 4));
        Assert.Equal(2, ds.Count);
        Assert.Equal(3, ds.NumClasses);
        var buf = new float[16];
        Assert.Equal(2, ds.Get(0, buf));
        Assert.Equal(1f, buf[7], 3);

        File.WriteAllText(dir.Combine("bad.csv"), "img/x.png,2\nimg/y.png,zero\n");
        var ex = Assert.Throws<InvalidDataException>(() => ImageFileDataset.FromCsv(dir.Combine("bad.csv"), new SampleShape(1, 4, 4)));
        Assert.Contains("bad.csv:2", ex.Message);

        File.WriteAllText(dir.Combine("img", "broken.png"), "not an image");
        File.WriteAllText(dir.Combine("broken.csv"), "img/broken.png,1\n");
        var broken = ImageFileDataset.FromCsv(dir.Combine("broken.csv"), new SampleShape(1, 4, 4));
        var dex = Assert.Throws<InvalidDataException>(() => broken.Get(0, buf));
        Assert.Contains("broken.png", dex.Message);
    }
}
