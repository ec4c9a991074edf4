namespace Molmo.Imaging;

/// <summary>
/// The result of <see cref="ResizeAndPad"/>: a normalised float32 canvas of <see cref="Height"/> × <see cref="Width"/> × 3 (RGB,
/// row-major) holding the resized image at (<see cref="Top"/>, <see cref="Left"/>) with size <see cref="ValidHeight"/> ×
/// <see cref="ValidWidth"/>; the rest is padding (value 0 before normalisation).
/// </summary>
public sealed class PaddedImage
{
    /// <summary>Canvas height (the target height).</summary>
    public required int Height { get; init; }

    /// <summary>Canvas width (the target width).</summary>
    public required int Width { get; init; }

    /// <summary>Normalised pixels, Height × Width × 3.</summary>
    public required float[] Pixels { get; init; }

    /// <summary>Rows of padding above the image.</summary>
    public required int Top { get; init; }

    /// <summary>Columns of padding left of the image.</summary>
    public required int Left { get; init; }

    /// <summary>Height of the resized image inside the canvas.</summary>
    public required int ValidHeight { get; init; }

    /// <summary>Width of the resized image inside the canvas.</summary>
    public required int ValidWidth { get; init; }

    /// <summary>The validity mask at (row, column): true inside the resized image, false in the padding (spec §3.3 step 6).</summary>
    public bool IsValid(int row, int column) =>
        row >= Top && row < Top + ValidHeight && column >= Left && column < Left + ValidWidth;

    /// <summary>Number of valid pixels in the rectangle [row, row + height) × [column, column + width).</summary>
    public int CountValid(int row, int column, int height, int width)
    {
        int rows = Math.Min(row + height, Top + ValidHeight) - Math.Max(row, Top);
        int cols = Math.Min(column + width, Left + ValidWidth) - Math.Max(column, Left);
        return rows > 0 && cols > 0 ? rows * cols : 0;
    }
}
