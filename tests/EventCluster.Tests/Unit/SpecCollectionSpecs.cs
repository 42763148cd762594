using EventCluster.Tests.Support;

namespace EventCluster.Tests.Unit;

/// <summary>
/// The timing-sensitive collection only works when each of its classes starts its processes in
/// the foreground: a class added to it without the base class would run niced like the others.
/// </summary>
public sealed class SpecCollectionSpecs
{
    [Fact]
    public void Should_start_the_processes_of_every_class_in_the_timing_sensitive_collection_in_the_foreground()
    {
        var classes = typeof(SpecCollectionSpecs).Assembly.GetTypes()
            .Where(type => CollectionName(type) == MachineAlone.Name)
            .ToList();

        Assert.Contains(classes, type => type.Name == "CrashFailoverSpecs");
        Assert.All(classes, type => Assert.True(type.IsSubclassOf(typeof(TimingSensitiveSpec)),
            $"{type.Name} is in the '{MachineAlone.Name}' collection but does not derive from {nameof(TimingSensitiveSpec)}"));
    }

    private static string? CollectionName(Type type) =>
        type.GetCustomAttributesData()
            .Where(data => data.AttributeType == typeof(CollectionAttribute))
            .Select(data => data.ConstructorArguments[0].Value as string)
            .FirstOrDefault();
}
