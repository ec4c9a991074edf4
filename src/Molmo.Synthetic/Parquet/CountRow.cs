using System.Text.Json.Serialization;

namespace Molmo.Synthetic.Parquet;

/// <summary>One object of a counting scene (pixels; the shape fits in the circle x, y, radius).</summary>
public sealed class ObjectCell
{
    [JsonPropertyName("shape")] public string Shape { get; set; } = "";
    [JsonPropertyName("color")] public string Color { get; set; } = "";
    [JsonPropertyName("x")] public double X { get; set; }
    [JsonPropertyName("y")] public double Y { get; set; }
    [JsonPropertyName("radius")] public double Radius { get; set; }
    [JsonPropertyName("rotation")] public double Rotation { get; set; }
}

/// <summary>One row of a counting/pointing file (pixmo-points/pixmo-count column names; points in percent).</summary>
public sealed class CountRow
{
    [JsonPropertyName("image_id")] public string ImageId { get; set; } = "";
    [JsonPropertyName("image")] public ImageCell Image { get; set; } = new();
    [JsonPropertyName("image_width")] public int ImageWidth { get; set; }
    [JsonPropertyName("image_height")] public int ImageHeight { get; set; }
    /// <summary>The object name or referring expression the question is about (lower case).</summary>
    [JsonPropertyName("label")] public string Label { get; set; } = "";
    [JsonPropertyName("count")] public int Count { get; set; }
    /// <summary>Centres of the target objects in percent (0–100) of width and height, sorted by x then y.</summary>
    [JsonPropertyName("points")] public List<PointCell> Points { get; set; } = [];
    /// <summary>"counting", "pointing" or "refexp".</summary>
    [JsonPropertyName("collection_method")] public string CollectionMethod { get; set; } = "";
    [JsonPropertyName("question")] public string Question { get; set; } = "";
    [JsonPropertyName("answer")] public string Answer { get; set; } = "";
    [JsonPropertyName("background")] public string Background { get; set; } = "";
    /// <summary>Every object drawn (targets and distractors), in pixels.</summary>
    [JsonPropertyName("objects")] public List<ObjectCell> Objects { get; set; } = [];
}
