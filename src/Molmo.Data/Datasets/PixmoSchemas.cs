using Molmo.Data.Parquet;

namespace Molmo.Data.Datasets;

/// <summary>
/// The columns each PixMo reader needs, with their Arrow types as released on Hugging Face
/// (pixmo-data-and-eval.md §1.2). Alternatives are accepted only where the card leaves the type open:
/// float32/float64 point members, int32/int64 integer columns, and the two layouts Hugging Face uses for a
/// "sequence of structs" (<c>list&lt;struct&gt;</c> or the struct of lists that <c>datasets.Sequence(dict)</c> stores).
/// </summary>
public static class PixmoSchemas
{
    public const string String = "string";
    public const string Bool = "bool";
    public static readonly string[] Integer = ["int64", "int32"];
    public const string StringList = "list<string>";

    /// <summary>Percent points: <c>list&lt;struct&lt;x: float64, y: float64&gt;&gt;</c> (float32 accepted).</summary>
    public static readonly string[] PointList = ["list<struct<x: float64, y: float64>>", "list<struct<x: float32, y: float32>>"];

    /// <summary>PixMo-Count points: <c>sequence&lt;{x: float32, y: float32}&gt;</c> in either physical layout.</summary>
    public static readonly string[] PointSequence =
    [
        "struct<x: list<float32>, y: list<float32>>", "list<struct<x: float32, y: float32>>",
        "struct<x: list<float64>, y: list<float64>>", "list<struct<x: float64, y: float64>>",
    ];

    public static readonly string[] PointListList =
        ["list<list<struct<x: float64, y: float64>>>", "list<list<struct<x: float32, y: float32>>>"];

    public const string MaskList = "list<list<list<bool>>>";

    /// <summary><c>datasets.Image</c> storage: a struct of the encoded bytes and the original path.</summary>
    public const string Image = "struct<bytes: binary, path: string>";

    public static readonly string[] DocsQuestions =
        ["struct<answer: list<string>, question: list<string>>", "list<struct<answer: string, question: string>>"];

    static ExpectedColumn C(string name, params string[] types) => new(name, types);
    static ExpectedColumn Opt(string name, params string[] types) => new(name, types, Optional: true);

    public static IReadOnlyList<ExpectedColumn> For(PixmoDatasetKind kind) => kind switch
    {
        PixmoDatasetKind.Cap => [C("image_url", String), C("caption", String), C("transcripts", StringList)],
        PixmoDatasetKind.AskModelAnything => [C("image_url", String), C("image_sha256", String), C("question", String), C("answer", String)],
        PixmoDatasetKind.Points =>
        [
            C("image_url", String), C("image_sha256", String), C("points", PointList), C("count", Integer),
            C("label", String), C("collection_method", String),
        ],
        PixmoDatasetKind.PointsEval =>
            [C("image_url", String), C("image_sha256", String), C("label", String), C("points", PointList), C("masks", MaskList)],
        PixmoDatasetKind.PointExplanations =>
        [
            C("image_url", String), C("image_sha256", String), C("question", String), C("parsed_response", String),
            C("inline_text", StringList), C("alt_text", StringList), C("points", PointListList),
        ],
        PixmoDatasetKind.CapQa => [C("image_url", String), Opt("question", String), Opt("answer", String), C("messages", StringList)],
        PixmoDatasetKind.Docs => [C("image", Image), C("image_id", String), C("questions", DocsQuestions)],
        PixmoDatasetKind.Clocks =>
        [
            C("example_id", String), C("watchface_id", String), C("watchface_name", String), C("watch_time", String),
            C("time_format", String), C("shows_seconds", Bool), C("hour_visible", Integer), C("minute_visible", Integer),
            C("second_visible", Integer), C("text", String),
        ],
        PixmoDatasetKind.Count =>
            [C("image_url", String), C("image_sha256", String), C("count", Integer), C("points", PointSequence), C("label", String)],
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>
    /// Guesses which PixMo dataset a file holds from its column names (a distinguishing column per dataset).
    /// Returns null when nothing matches.
    /// </summary>
    public static PixmoDatasetKind? Detect(IEnumerable<string> columnNames)
    {
        var c = columnNames.ToHashSet(StringComparer.Ordinal);
        if (c.Contains("watchface_id")) return PixmoDatasetKind.Clocks;
        if (c.Contains("questions") && c.Contains("image")) return PixmoDatasetKind.Docs;
        if (c.Contains("parsed_response")) return PixmoDatasetKind.PointExplanations;
        if (c.Contains("masks")) return PixmoDatasetKind.PointsEval;
        if (c.Contains("collection_method")) return PixmoDatasetKind.Points;
        if (c.Contains("transcripts") && c.Contains("caption")) return PixmoDatasetKind.Cap;
        if (c.Contains("messages")) return PixmoDatasetKind.CapQa;
        if (c.Contains("count") && c.Contains("points") && c.Contains("label")) return PixmoDatasetKind.Count;
        if (c.Contains("question") && c.Contains("answer") && c.Contains("image_sha256")) return PixmoDatasetKind.AskModelAnything;
        return null;
    }
}
