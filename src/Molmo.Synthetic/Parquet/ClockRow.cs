using System.Text.Json.Serialization;

namespace Molmo.Synthetic.Parquet;

/// <summary>One row of a synthetic clocks file (pixmo-clocks column names plus the image and the hand angles).</summary>
public sealed class ClockRow
{
    [JsonPropertyName("example_id")] public string ExampleId { get; set; } = "";
    [JsonPropertyName("image")] public ImageCell Image { get; set; } = new();
    [JsonPropertyName("image_width")] public int ImageWidth { get; set; }
    [JsonPropertyName("image_height")] public int ImageHeight { get; set; }
    /// <summary>The face design (preset name); pixmo-clocks names the watch body here.</summary>
    [JsonPropertyName("watchface_name")] public string WatchfaceName { get; set; } = "";
    [JsonPropertyName("time_format")] public string TimeFormat { get; set; } = "Without AM/PM";
    [JsonPropertyName("shows_seconds")] public bool ShowsSeconds { get; set; }
    [JsonPropertyName("hour_visible")] public int HourVisible { get; set; }
    [JsonPropertyName("minute_visible")] public int MinuteVisible { get; set; }
    [JsonPropertyName("second_visible")] public int SecondVisible { get; set; }
    /// <summary>The second the hands were drawn at (also when no seconds hand is shown).</summary>
    [JsonPropertyName("second_drawn")] public int SecondDrawn { get; set; }
    [JsonPropertyName("text")] public string Text { get; set; } = "";
    [JsonPropertyName("question")] public string Question { get; set; } = "";
    [JsonPropertyName("answer")] public string Answer { get; set; } = "";
    [JsonPropertyName("hour_hand_angle")] public double HourHandAngle { get; set; }
    [JsonPropertyName("minute_hand_angle")] public double MinuteHandAngle { get; set; }
    /// <summary>Degrees clockwise from 12; null when the face has no seconds hand.</summary>
    [JsonPropertyName("second_hand_angle")] public double? SecondHandAngle { get; set; }
    [JsonPropertyName("rotation_deg")] public double RotationDeg { get; set; }
}
