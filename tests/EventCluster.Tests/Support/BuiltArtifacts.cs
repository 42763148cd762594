using System.Reflection;

namespace EventCluster.Tests.Support;

/// <summary>Where the built node and client are: the outputs of the same configuration as these specs.</summary>
public static class BuiltArtifacts
{
    private static readonly Lazy<string> Root = new(FindRepositoryRoot);

    /// <summary>The repository root (the folder holding EventCluster.sln).</summary>
    public static string RepositoryRoot => Root.Value;

    /// <summary>Debug or Release, as this test assembly was built.</summary>
    public static string Configuration =>
        typeof(BuiltArtifacts).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";

    /// <summary>The built node.</summary>
    public static string NodeDll => Existing(Path.Combine(RepositoryRoot, "src", "Node", "bin", Configuration, "net10.0", "EventCluster.Node.dll"));

    /// <summary>The built eventcluster client.</summary>
    public static string ClientDll => Existing(Path.Combine(RepositoryRoot, "src", "Cli", "bin", Configuration, "net10.0", "eventcluster.dll"));

    /// <summary>The built sample console app of the client library.</summary>
    public static string QuickStartDll => Existing(Path.Combine(RepositoryRoot, "samples", "QuickStart", "bin", Configuration, "net10.0", "QuickStart.dll"));

    private static string Existing(string path) =>
        File.Exists(path) ? path : throw new FileNotFoundException($"{path} is missing: build the solution ({Configuration}) first", path);

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "EventCluster.sln")))
                return directory.FullName;
        }

        throw new DirectoryNotFoundException($"no EventCluster.sln above {AppContext.BaseDirectory}");
    }
}
