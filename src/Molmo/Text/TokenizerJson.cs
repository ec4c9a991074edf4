using System.Text.Json;

namespace Molmo.Text;

/// <summary>Small helpers for reading tokenizer JSON files with errors that name the file.</summary>
internal static class TokenizerJson
{
    public static JsonDocument Parse(string path)
    {
        if (!File.Exists(path)) throw new TokenizerLoadException(path, "file not found.");
        try
        {
            return JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new TokenizerLoadException(path, $"not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine}): {e.Message}", e);
        }
        catch (IOException e)
        {
            throw new TokenizerLoadException(path, "cannot be read: " + e.Message, e);
        }
    }

    /// <summary>A token given either as a string or as an object with "content" (special_tokens_map / tokenizer_config style).</summary>
    public static string? TokenContent(JsonElement parent, string property)
    {
        if (parent.ValueKind != JsonValueKind.Object || !parent.TryGetProperty(property, out var value)) return null;
        return value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Object when value.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String => c.GetString(),
            _ => null,
        };
    }

    public static JsonElement Require(JsonElement parent, string property, string path, JsonValueKind kind)
    {
        if (parent.ValueKind != JsonValueKind.Object || !parent.TryGetProperty(property, out var value))
            throw new TokenizerLoadException(path, $"missing field \"{property}\".");
        if (value.ValueKind != kind)
            throw new TokenizerLoadException(path, $"field \"{property}\" should be a JSON {kind.ToString().ToLowerInvariant()}, not {value.ValueKind.ToString().ToLowerInvariant()}.");
        return value;
    }
}
