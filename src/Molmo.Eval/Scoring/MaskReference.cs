using System.Text.Json;
using Molmo.Eval.Metrics;

namespace Molmo.Eval.Scoring;

/// <summary>
/// Where one ground-truth instance mask comes from: a COCO RLE object (<c>{"size": [h, w], "counts": [...] or "..."}</c>),
/// an image path (relative to the file that names it), or rows of booleans / 0-1 numbers. Loaded on demand.
/// </summary>
public sealed class MaskReference
{
    readonly Func<BinaryMask> _load;

    /// <summary>A short description for error messages ("RLE 480x640", a path, "inline 480x640").</summary>
    public string Description { get; }

    /// <summary>The mask image's full path when the mask is a file, else null.</summary>
    public string? FilePath { get; init; }

    public MaskReference(string description, Func<BinaryMask> load) { Description = description; _load = load; }

    public static MaskReference FromMask(BinaryMask mask) => new($"inline {mask.Height}x{mask.Width}", () => mask);

    /// <summary>A mask stored as an image file (pixel on: mean RGB ≥ 128 and alpha ≥ 128).</summary>
    public static MaskReference FromFile(string path)
    {
        var full = Path.GetFullPath(path);
        return new MaskReference(full, () => BinaryMask.FromImageFile(full)) { FilePath = full };
    }

    /// <summary>Decodes the mask. Not cached: full-resolution masks of a whole benchmark would not fit in memory.</summary>
    public BinaryMask Load() => _load();

    /// <summary>Parses one entry of a <c>masks</c> array; <paramref name="baseDir"/> resolves relative paths.</summary>
    public static MaskReference Parse(JsonElement e, string baseDir, string where)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.String:
            {
                var path = Path.GetFullPath(Path.Combine(baseDir, e.GetString()!));
                return FromFile(path);
            }
            case JsonValueKind.Object:
            {
                if (!e.TryGetProperty("size", out var size) || size.ValueKind != JsonValueKind.Array || size.GetArrayLength() != 2)
                    throw new InvalidDataException($"{where}: an RLE mask needs \"size\": [height, width]");
                int h = size[0].GetInt32(), w = size[1].GetInt32();
                if (!e.TryGetProperty("counts", out var counts))
                    throw new InvalidDataException($"{where}: an RLE mask needs \"counts\" (a list of run lengths or a COCO string)");
                if (counts.ValueKind == JsonValueKind.String)
                {
                    var s = counts.GetString()!;
                    return new MaskReference($"RLE {h}x{w}", () => BinaryMask.FromCocoRle(h, w, s));
                }
                if (counts.ValueKind != JsonValueKind.Array)
                    throw new InvalidDataException($"{where}: RLE \"counts\" must be a list of run lengths or a COCO string");
                var runs = counts.EnumerateArray().Select(c => c.GetInt64()).ToArray();
                return new MaskReference($"RLE {h}x{w}", () => BinaryMask.FromCocoRle(h, w, runs));
            }
            case JsonValueKind.Array:
            {
                var rows = new List<IReadOnlyList<bool>>();
                foreach (var row in e.EnumerateArray())
                {
                    if (row.ValueKind != JsonValueKind.Array) throw new InvalidDataException($"{where}: a mask given as rows must be a list of lists");
                    rows.Add(row.EnumerateArray().Select(v => v.ValueKind switch
                    {
                        JsonValueKind.True => true,
                        JsonValueKind.False => false,
                        JsonValueKind.Number => v.GetDouble() != 0,
                        _ => throw new InvalidDataException($"{where}: mask values must be true/false or numbers"),
                    }).ToArray());
                }
                return FromMask(BinaryMask.FromRows(rows));
            }
            default:
                throw new InvalidDataException($"{where}: a mask must be an RLE object, an image path or rows of booleans, got {e.ValueKind}");
        }
    }
}
