namespace Molmo.Data.Datasets;

/// <summary>A point as stored in a PixMo dataset; <see cref="CoordinateUnit"/> says whether X/Y are percent or pixels.</summary>
public readonly record struct PixmoPoint(double X, double Y)
{
    /// <summary>Converts a pixel point to percent (0–100) of the image width and height.</summary>
    public PixmoPoint PixelsToPercent(int imageWidth, int imageHeight)
    {
        if (imageWidth <= 0 || imageHeight <= 0)
            throw new ArgumentOutOfRangeException(nameof(imageWidth), $"image size {imageWidth}x{imageHeight} must be positive to convert pixel points to percent");
        // The reference divides by (w/100, h/100).
        return new PixmoPoint(X / (imageWidth / 100.0), Y / (imageHeight / 100.0));
    }

    /// <summary>Converts a percent point to pixels of an image of the given size.</summary>
    public PixmoPoint PercentToPixels(int imageWidth, int imageHeight) => new(X / 100.0 * imageWidth, Y / 100.0 * imageHeight);
}

/// <summary>How a dataset's point coordinates are expressed.</summary>
public enum CoordinateUnit
{
    /// <summary>0–100 percent of the original image width (x) and height (y): Points, Points-Eval, Point-Explanations.</summary>
    Percent,

    /// <summary>Pixels of the original image: PixMo-Count train points.</summary>
    Pixels,
}
