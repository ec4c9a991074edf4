using Molmo.Data.Parquet;

namespace Molmo.Data.Datasets;

/// <summary>
/// A <c>pixmo-clocks</c> row (no image, only the facer.io watch face and the time it shows).
/// The <c>*Visible</c> fields are −1 when that part of the time is not shown; <see cref="HourVisible"/> is 0–23
/// (0 = 12 am), or 0–11 when AM/PM cannot be read from the face.
/// <see cref="TimeFormat"/> is e.g. <c>"With AM/PM"</c> or <c>"Without AM/PM"</c>.
/// </summary>
public sealed record PixmoClocksRow(string ExampleId, string WatchfaceId, string WatchfaceName, string WatchTime, string TimeFormat,
    bool ShowsSeconds, int HourVisible, int MinuteVisible, int SecondVisible, string Text);

public sealed class PixmoClocksReader : PixmoReader<PixmoClocksRow>
{
    public override PixmoDatasetKind Kind => PixmoDatasetKind.Clocks;

    protected internal override PixmoClocksRow? Map(RowView row) =>
        new(row.String("example_id"), row.String("watchface_id"), row.String("watchface_name"), row.String("watch_time"),
            row.String("time_format"), row.Bool("shows_seconds"), checked((int)row.Int64("hour_visible")),
            checked((int)row.Int64("minute_visible")), checked((int)row.Int64("second_visible")), row.String("text"));
}
