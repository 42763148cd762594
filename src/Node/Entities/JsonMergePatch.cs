using System.Text.Json.Nodes;

namespace EventCluster.Node.Entities;

/// <summary>RFC 7386 JSON merge patch.</summary>
public static class JsonMergePatch
{
    /// <summary>Applies <paramref name="patch"/> to <paramref name="target"/> in place.</summary>
    public static void ApplyTo(JsonObject target, JsonObject patch)
    {
        foreach (var (key, value) in patch)
        {
            switch (value)
            {
                case null:
                    target.Remove(key);
                    break;
                case JsonObject nested when target[key] is JsonObject existing:
                    ApplyTo(existing, nested);
                    break;
                case JsonObject nested:
                    // A patch object replacing a non-object is merged into {} so its nulls vanish.
                    var fresh = new JsonObject();
                    ApplyTo(fresh, nested);
                    target[key] = fresh;
                    break;
                default:
                    target[key] = value.DeepClone();
                    break;
            }
        }
    }

    /// <summary>Returns the compact JSON of <paramref name="target"/> merge-patched with <paramref name="patch"/>.</summary>
    public static string Apply(string target, string patch)
    {
        var document = JsonNode.Parse(target) as JsonObject ?? new JsonObject();
        if (JsonNode.Parse(patch) is JsonObject patchObject)
            ApplyTo(document, patchObject);
        return document.ToJsonString();
    }
}
