using SkiaSharp;

namespace Molmo.Eval.Metrics;

/// <summary>A boolean instance mask (for example a SAM mask of one ground-truth object), row-major, at the original image size.</summary>
public sealed class BinaryMask
{
    readonly bool[] _data;

    public int Width { get; }
    public int Height { get; }

    public BinaryMask(int width, int height, bool[] rowMajor)
    {
        if (width <= 0 || height <= 0) throw new ArgumentException($"mask size must be positive, got {width}x{height}");
        ArgumentNullException.ThrowIfNull(rowMajor);
        if (rowMajor.Length != width * height)
            throw new ArgumentException($"mask data has {rowMajor.Length} values, expected {width}x{height} = {width * height}");
        Width = width; Height = height; _data = rowMajor;
    }

    /// <summary>True iff (x, y) is inside the image and the mask is set there. Out of bounds is false.</summary>
    public bool Contains(int x, int y) => x >= 0 && y >= 0 && x < Width && y < Height && _data[y * Width + x];

    /// <summary>Number of set pixels.</summary>
    public int Area => _data.Count(b => b);

    /// <summary>From rows of booleans (the <c>masks</c> layout of pixmo-points-eval: H lists of W values).</summary>
    public static BinaryMask FromRows(IReadOnlyList<IReadOnlyList<bool>> rows)
    {
        if (rows.Count == 0) throw new ArgumentException("mask has no rows");
        int w = rows[0].Count;
        var data = new bool[rows.Count * w];
        for (int y = 0; y < rows.Count; y++)
        {
            if (rows[y].Count != w) throw new ArgumentException($"mask row {y} has {rows[y].Count} values, row 0 has {w}");
            for (int x = 0; x < w; x++) data[y * w + x] = rows[y][x];
        }
        return new BinaryMask(w, rows.Count, data);
    }

    /// <summary>
    /// From COCO run-length encoding: runs alternate unset/set starting with unset, in column-major order (down each
    /// column, then the next column), over an image of <paramref name="height"/> × <paramref name="width"/>.
    /// </summary>
    public static BinaryMask FromCocoRle(int height, int width, IReadOnlyList<long> counts)
    {
        if (width <= 0 || height <= 0) throw new ArgumentException($"RLE size must be positive, got [{height}, {width}]");
        long total = (long)width * height, pos = 0;
        var data = new bool[total];
        bool value = false;
        foreach (var run in counts)
        {
            if (run < 0 || pos + run > total) throw new InvalidDataException($"RLE runs exceed the mask size {height}x{width}");
            if (value)
                for (long k = pos; k < pos + run; k++)
                {
                    long col = k / height, row = k % height;
                    data[row * width + col] = true;
                }
            pos += run;
            value = !value;
        }
        if (pos != total) throw new InvalidDataException($"RLE runs cover {pos} pixels, the mask {height}x{width} has {total}");
        return new BinaryMask(width, height, data);
    }

    /// <summary>
    /// From COCO's compressed RLE string: each run is a little-endian sequence of 5-bit groups stored as characters
    /// offset by 48, bit 0x20 meaning "more groups follow" and bit 0x10 of the last group the sign; from the third run
    /// on, the value is a difference to the run two places earlier.
    /// </summary>
    public static BinaryMask FromCocoRle(int height, int width, string compressed)
    {
        var counts = new List<long>();
        int p = 0;
        while (p < compressed.Length)
        {
            long x = 0; int k = 0; bool more = true;
            while (more)
            {
                if (p >= compressed.Length) throw new InvalidDataException("compressed RLE string ends inside a run");
                long c = compressed[p] - 48;
                if (c < 0 || c > 63) throw new InvalidDataException($"invalid character '{compressed[p]}' in compressed RLE");
                x |= (c & 0x1f) << (5 * k);
                more = (c & 0x20) != 0;
                p++; k++;
                if (!more && (c & 0x10) != 0) x |= -1L << (5 * k);
            }
            if (counts.Count > 2) x += counts[^2];
            counts.Add(x);
        }
        return FromCocoRle(height, width, counts);
    }

    /// <summary>From an image file: a pixel is set when its alpha ≥ 128 and its mean of R, G, B ≥ 128.</summary>
    public static BinaryMask FromImageFile(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"mask image not found: {path}", path);
        using var bmp = SKBitmap.Decode(path) ?? throw new InvalidDataException($"cannot decode mask image {path}");
        var data = new bool[bmp.Width * bmp.Height];
        for (int y = 0; y < bmp.Height; y++)
            for (int x = 0; x < bmp.Width; x++)
            {
                var c = bmp.GetPixel(x, y);
                data[y * bmp.Width + x] = c.Alpha >= 128 && (c.Red + c.Green + c.Blue) >= 3 * 128;
            }
        return new BinaryMask(bmp.Width, bmp.Height, data);
    }
}
