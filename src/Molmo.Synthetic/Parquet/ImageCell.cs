using System.Text.Json.Serialization;

namespace Molmo.Synthetic.Parquet;

/// <summary>An embedded image, stored like the Hugging Face <c>datasets.Image</c> feature: struct{bytes: binary, path: string}.</summary>
public sealed class ImageCell
{
    [JsonPropertyName("bytes")] public byte[]? Bytes { get; set; }
    [JsonPropertyName("path")] public string? Path { get; set; }
}

/// <summary>One question/answer of a document row (pixmo-docs <c>questions</c> element) plus the question type.</summary>
public sealed class QuestionCell
{
    [JsonPropertyName("question")] public string Question { get; set; } = "";
    [JsonPropertyName("answer")] public string Answer { get; set; } = "";
    [JsonPropertyName("type")] public string Type { get; set; } = "";
}

/// <summary>A point in percent of the image width/height (pixmo-points convention).</summary>
public sealed class PointCell
{
    [JsonPropertyName("x")] public double X { get; set; }
    [JsonPropertyName("y")] public double Y { get; set; }
}
