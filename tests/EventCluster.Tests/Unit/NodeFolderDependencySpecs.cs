using System.Reflection;
using System.Reflection.Emit;
using EventCluster.Node.Entities;

namespace EventCluster.Tests.Unit;

/// <summary>
/// The folders of the node (<c>EventCluster.Node.&lt;Folder&gt;</c>) depend on each other in one
/// direction only: the compiled assembly is read, method bodies included, so a dependency hidden
/// in a lambda or an async method counts as much as one in a signature.
/// </summary>
public sealed class NodeFolderDependencySpecs
{
    private const string NodeNamespace = "EventCluster.Node";

    private const BindingFlags Declared =
        BindingFlags.DeclaredOnly | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static;

    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(field => (OpCode)field.GetValue(null)!)
        .ToDictionary(code => code.Value);

    [Fact]
    public void Should_have_no_folder_of_the_node_depend_on_itself_through_other_folders()
    {
        var graph = FolderGraph(typeof(EventEntity).Assembly);

        var cycle = FindCycle(graph);

        Assert.True(cycle is null, cycle is null ? "" : Describe(cycle, graph));
    }

    [Fact]
    public void Should_see_dependencies_that_only_method_bodies_have()
    {
        var graph = FolderGraph(typeof(EventEntity).Assembly);

        // Hosting creates the ingress actor inside a lambda, and reads no Ingress type in any signature.
        Assert.Contains("Ingress", graph["Hosting"].Keys);
        Assert.Contains("Journal", graph["Hosting"].Keys);
    }

    /// <summary>Folder → folders it uses, each with one example "Type uses Type".</summary>
    private static Dictionary<string, Dictionary<string, string>> FolderGraph(Assembly assembly)
    {
        var graph = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        foreach (var type in assembly.GetTypes())
        {
            var (owner, folder) = FolderOf(type);
            if (folder is null)
                continue;
            var edges = graph.TryGetValue(folder, out var found) ? found : graph[folder] = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var used in TypesUsedBy(type))
            {
                var (usedOwner, usedFolder) = FolderOf(used);
                if (usedFolder is not null && usedFolder != folder)
                    edges.TryAdd(usedFolder, $"{owner!.FullName} uses {usedOwner!.FullName}");
            }
        }

        return graph;
    }

    /// <summary>The top-level type (lambdas and state machines are nested in their declaring type) and its folder, or null outside one.</summary>
    private static (Type? Owner, string? Folder) FolderOf(Type type)
    {
        while (type.HasElementType)
            type = type.GetElementType()!;
        if (type.IsGenericParameter)
            return (null, null);
        while (type.DeclaringType is { } outer)
            type = outer;
        var ns = type.Namespace ?? "";
        if (!ns.StartsWith(NodeNamespace + ".", StringComparison.Ordinal))
            return (null, null);
        return (type, ns[(NodeNamespace.Length + 1)..].Split('.')[0]);
    }

    private static IEnumerable<Type> TypesUsedBy(Type type)
    {
        var used = new List<Type>();
        if (type.BaseType is { } baseType)
            used.Add(baseType);
        used.AddRange(type.GetInterfaces());
        used.AddRange(type.GetCustomAttributesData().SelectMany(AttributeTypes));
        foreach (var field in type.GetFields(Declared))
            used.Add(field.FieldType);
        foreach (var property in type.GetProperties(Declared))
            used.Add(property.PropertyType);
        foreach (var evt in type.GetEvents(Declared))
            used.Add(evt.EventHandlerType!);
        foreach (var method in type.GetMethods(Declared).Cast<MethodBase>().Concat(type.GetConstructors(Declared)))
        {
            used.AddRange(SignatureOf(method));
            used.AddRange(method.GetCustomAttributesData().SelectMany(AttributeTypes));
            used.AddRange(BodyOf(method));
        }

        return used.SelectMany(Expand);
    }

    private static IEnumerable<Type> AttributeTypes(CustomAttributeData attribute) =>
        attribute.ConstructorArguments.Concat(attribute.NamedArguments.Select(named => named.TypedValue))
            .Select(argument => argument.Value).OfType<Type>().Append(attribute.AttributeType);

    private static IEnumerable<Type> SignatureOf(MethodBase method)
    {
        if (method is MethodInfo info)
            yield return info.ReturnType;
        foreach (var parameter in method.GetParameters())
            yield return parameter.ParameterType;
    }

    /// <summary>Locals, caught exceptions and every type, method and field token the IL names.</summary>
    private static IEnumerable<Type> BodyOf(MethodBase method)
    {
        var body = method.GetMethodBody();
        var il = body?.GetILAsByteArray();
        if (body is null || il is null)
            yield break;
        foreach (var local in body.LocalVariables)
            yield return local.LocalType;
        foreach (var clause in body.ExceptionHandlingClauses)
        {
            if (clause.Flags == ExceptionHandlingClauseOptions.Clause)
                yield return clause.CatchType!;
        }

        var typeArguments = method.DeclaringType is { IsGenericType: true } declaring ? declaring.GetGenericArguments() : null;
        var methodArguments = method.IsGenericMethod ? method.GetGenericArguments() : null;
        var offset = 0;
        while (offset < il.Length)
        {
            var value = il[offset] == 0xFE ? (short)(0xFE00 | il[offset + 1]) : il[offset];
            offset += il[offset] == 0xFE ? 2 : 1;
            var code = OpCodesByValue[value];
            if (code.OperandType is OperandType.InlineType or OperandType.InlineMethod or OperandType.InlineField or OperandType.InlineTok)
            {
                var member = method.Module.ResolveMember(BitConverter.ToInt32(il, offset), typeArguments, methodArguments);
                foreach (var used in MemberTypes(member!))
                    yield return used;
            }

            offset += code.OperandType switch
            {
                OperandType.InlineNone => 0,
                OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
                OperandType.InlineVar => 2,
                OperandType.InlineI8 or OperandType.InlineR => 8,
                OperandType.InlineSwitch => 4 + 4 * BitConverter.ToInt32(il, offset),
                _ => 4,
            };
        }
    }

    private static IEnumerable<Type> MemberTypes(MemberInfo member) => member switch
    {
        Type type => [type],
        FieldInfo field => [field.DeclaringType!, field.FieldType],
        MethodBase method => SignatureOf(method).Append(method.DeclaringType!)
            .Concat(method.IsGenericMethod ? method.GetGenericArguments() : []),
        _ => member.DeclaringType is { } declaring ? [declaring] : [],
    };

    /// <summary>A type with its element type and generic arguments, all the way down.</summary>
    private static IEnumerable<Type> Expand(Type type)
    {
        if (type.HasElementType)
            return Expand(type.GetElementType()!);
        if (type.IsGenericType && !type.IsGenericTypeDefinition)
            return type.GetGenericArguments().SelectMany(Expand).Prepend(type.GetGenericTypeDefinition());
        return [type];
    }

    /// <summary>The folders of one cycle, the first repeated at the end; null when there is none.</summary>
    private static List<string>? FindCycle(Dictionary<string, Dictionary<string, string>> graph)
    {
        var done = new HashSet<string>(StringComparer.Ordinal);
        var path = new List<string>();

        List<string>? Visit(string folder)
        {
            var open = path.IndexOf(folder);
            if (open >= 0)
                return [.. path[open..], folder];
            if (!done.Add(folder))
                return null;
            path.Add(folder);
            foreach (var next in graph.GetValueOrDefault(folder)?.Keys.Order(StringComparer.Ordinal) ?? Enumerable.Empty<string>())
            {
                if (Visit(next) is { } cycle)
                    return cycle;
            }

            path.RemoveAt(path.Count - 1);
            return null;
        }

        return graph.Keys.Order(StringComparer.Ordinal).Select(Visit).FirstOrDefault(cycle => cycle is not null);
    }

    private static string Describe(List<string> cycle, Dictionary<string, Dictionary<string, string>> graph)
    {
        var steps = cycle.Zip(cycle.Skip(1), (from, to) => $"  {from} → {to}: {graph[from][to]}");
        var all = graph.OrderBy(pair => pair.Key, StringComparer.Ordinal)
            .Select(pair => $"  {pair.Key} → {string.Join(", ", pair.Value.Keys.Order(StringComparer.Ordinal))}");
        return $"The node's folders depend on each other in a circle: {string.Join(" → ", cycle)}\n" +
               string.Join("\n", steps) + "\nAll folder dependencies:\n" + string.Join("\n", all);
    }
}
