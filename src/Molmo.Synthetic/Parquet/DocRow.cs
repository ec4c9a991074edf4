using System.Text.Json.Serialization;

namespace Molmo.Synthetic.Parquet;

/// <summary>One row of a charts/tables/docs file (pixmo-docs columns plus the figure type and the generating data as JSON).</summary>
public sealed class DocRow
{
    [JsonPropertyName("image_id")] public string ImageId { get; set; } = "";
    [JsonPropertyName("image")] public ImageCell Image { get; set; } = new();
    [JsonPropertyName("image_width")] public int ImageWidth { get; set; }
    [JsonPropertyName("image_height")] public int ImageHeight { get; set; }
    /// <summary>bar, horizontal_bar, grouped_bar, line, pie, scatter, table, receipt, form, flowchart.</summary>
    [JsonPropertyName("figure_type")] public string FigureType { get; set; } = "";
    /// <summary>The data the image was rendered from (JSON), so every answer can be recomputed.</summary>
    [JsonPropertyName("data_json")] public string DataJson { get; set; } = "";
    [JsonPropertyName("questions")] public List<QuestionCell> Questions { get; set; } = [];
}
