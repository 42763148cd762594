using System.IO.Compression;
using System.Text.RegularExpressions;
using EventCluster.Tests.Support;
using Xunit;

namespace EventCluster.Tests.Deployment;

/// <summary>
/// The packages a .NET team installs: the client library with its contracts, and the command
/// as a .NET tool installed from a local folder the way the README shows.
/// </summary>
public sealed class PackageSpecs
{
    [Fact]
    public async Task Should_pack_the_library_with_its_contracts_and_install_the_command_as_a_tool()
    {
        using var directory = new TempDirectory("eventcluster-packages");
        var packages = Path.Combine(directory.Path, "packages");
        var configuration = BuiltArtifacts.Configuration;
        await ChildProcesses.RunToEndAsync("dotnet", "pack", Path.Combine(BuiltArtifacts.RepositoryRoot, "EventCluster.sln"), "-c", configuration,
            "--no-build", "-o", packages, "-v", "quiet", "-nologo");
        Assert.Equal(["EventCluster.Cli", "EventCluster.Client", "EventCluster.Messages"],
            Directory.GetFiles(packages, "*.nupkg").Select(file => Regex.Replace(Path.GetFileName(file), @"\.\d+\.\d+\.\d+.*$", "")).Order());

        var library = Assert.Single(Directory.GetFiles(packages, "EventCluster.Client.1.*.nupkg"));
        using (var archive = ZipFile.OpenRead(library))
        {
            Assert.Contains(archive.Entries, e => e.FullName == "lib/net10.0/EventCluster.Client.dll");
            Assert.Contains(archive.Entries, e => e.FullName == "lib/net10.0/EventCluster.Client.xml");
            var nuspec = archive.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal));
            using var reader = new StreamReader(nuspec.Open());
            var manifest = await reader.ReadToEndAsync();
            Assert.Contains("id=\"EventCluster.Messages\"", manifest);
            Assert.Contains("id=\"Akka.Cluster.Tools\"", manifest);
        }

        // dotnet tool install --add-source DIR, into a tool path of its own instead of --global.
        var tools = Path.Combine(directory.Path, "tools");
        await ChildProcesses.RunToEndAsync("dotnet", "tool", "install", "--tool-path", tools, "--add-source", packages, "EventCluster.Cli");
        var installed = await ClientRun.RunProgramAsync(Path.Combine(tools, "eventcluster"), ["--version"], TimeSpan.FromMinutes(1), runner: null);
        Assert.True(installed.ExitCode == 0, installed.ToString());
        Assert.Matches(@"^\d+\.\d+\.\d+", installed.Stdout.Trim());
    }
}
