using EventCluster.Tests.Support;

namespace EventCluster.Tests.Unit;

/// <summary>
/// The timing-sensitive and machine-alone collections only work when each of their classes starts
/// its processes in the foreground: a class added to one without the base class would run niced
/// like the others.
/// </summary>
public sealed class SpecCollectionSpecs
{
    [Theory]
    [InlineData(TimingSensitive.Name, "CrashFailoverSpecs")]
    [InlineData(MachineAlone.Name, "BenchSpecs")]
    public void Should_start_the_processes_of_every_class_in_a_foreground_collection_in_the_foreground(string collection, string member)
    {
        var classes = typeof(SpecCollectionSpecs).Assembly.GetTypes()
            .Where(type => CollectionName(type) == collection)
            .ToList();

        Assert.Contains(classes, type => type.Name == member);
        Assert.All(classes, type => Assert.True(type.IsSubclassOf(typeof(TimingSensitiveSpec)),
            $"{type.Name} is in the '{collection}' collection but does not derive from {nameof(TimingSensitiveSpec)}"));
    }

    private static string? CollectionName(Type type) =>
        type.GetCustomAttributesData()
            .Where(data => data.AttributeType == typeof(CollectionAttribute))
            .Select(data => data.ConstructorArguments[0].Value as string)
            .FirstOrDefault();
}
