namespace Cluster.Training.Tests;

internal static class RepoPaths
{
    public static string Root
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Cluster.sln"))) return dir.FullName;
            }
            throw new DirectoryNotFoundException("repository root (Cluster.sln) not found above " + AppContext.BaseDirectory);
        }
    }

    public static string Examples => Path.Combine(Root, "examples");
}
