using Molmo.Text;

namespace Molmo.Imaging;

/// <summary>
/// The image token block (spec §3.8) and <c>image_input_idx</c> (spec §3.9) for one image with tiling rows × cols: the global block
/// <c>S (P×12 K)×12 E</c> first, then the high-res block <c>S (P×Cp K)×Rp E</c> with Rp = 8R + 4, Cp = 8C + 4 (default geometry).
/// </summary>
public static class ImageTokenLayout
{
    /// <summary>Pooled grid of the high-res block: (Rp, Cp) = ((R·16 + 8 + 1) / 2, (C·16 + 8 + 1) / 2) for the defaults.</summary>
    public static (int Rows, int Cols) PooledGrid(int rows, int cols, ImageCropperOptions? options = null)
    {
        options ??= ImageCropperOptions.Default;
        CheckTiling(rows, cols);
        int margin = options.OverlapMarginLeft + options.OverlapMarginRight;
        return ((rows * options.WindowPatches + margin + 1) / 2, (cols * options.WindowPatches + margin + 1) / 2);
    }

    /// <summary>Length of the global block: 2 + 12·13 = 158 for the defaults.</summary>
    public static int GlobalBlockLength(ImageCropperOptions? options = null)
    {
        options ??= ImageCropperOptions.Default;
        return 2 + options.PooledPerSide * (options.PooledPerSide + 1);
    }

    /// <summary>Number of image tokens: 160 + (8R + 4)(8C + 5) for the defaults.</summary>
    public static int TokenCount(int rows, int cols, ImageCropperOptions? options = null)
    {
        var (rp, cp) = PooledGrid(rows, cols, options);
        return GlobalBlockLength(options) + 2 + rp * (cp + 1);
    }

    /// <summary>The image token block: global block then high-res block, using the ids in <paramref name="ids"/>.</summary>
    public static int[] Tokens(int rows, int cols, SpecialTokenIds ids, ImageCropperOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(ids);
        options ??= ImageCropperOptions.Default;
        var (rp, cp) = PooledGrid(rows, cols, options);
        var tokens = new int[TokenCount(rows, cols, options)];
        int n = 0;
        void Block(int gridRows, int gridCols)
        {
            tokens[n++] = ids.ImStart;
            for (int y = 0; y < gridRows; y++)
            {
                for (int x = 0; x < gridCols; x++) tokens[n++] = ids.ImPatch;
                tokens[n++] = ids.ImCol;
            }
            tokens[n++] = ids.ImEnd;
        }
        Block(options.PooledPerSide, options.PooledPerSide);
        Block(rp, cp);
        return tokens;
    }

    /// <summary>
    /// <c>image_input_idx</c>, shape [1 + R·C, 144] row-major: the sequence position receiving each pooled feature, or −100 where the
    /// feature is dropped (overlap margins). <paramref name="blockOffset"/> is the position of the image block's first token
    /// (1 when BOS precedes it, as in the reference prompt).
    /// </summary>
    public static long[] InputIndex(int rows, int cols, int blockOffset = 1, ImageCropperOptions? options = null)
    {
        options ??= ImageCropperOptions.Default;
        if (blockOffset < 0) throw new ArgumentOutOfRangeException(nameof(blockOffset), blockOffset, "block offset must be ≥ 0");
        var (_, cp) = PooledGrid(rows, cols, options);
        int p = options.PooledPerSide, perCrop = options.PooledPerCrop;
        int window = options.WindowPatches / 2, lo = options.OverlapMarginLeft / 2, hiCut = options.OverlapMarginRight / 2;
        var idx = new long[(1 + rows * cols) * perCrop];

        // Global image: after its S token, rows of p features each followed by a column token.
        for (int y = 0; y < p; y++)
            for (int x = 0; x < p; x++)
                idx[y * p + x] = blockOffset + 1 + y * (p + 1) + x;

        // High-res crops: keep the pooled features outside the overlap margins of interior edges (spec §3.9).
        long hiStart = blockOffset + GlobalBlockLength(options) + 1;
        for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++)
        {
            int yLo = i == 0 ? 0 : lo, yHi = i == rows - 1 ? p : p - hiCut;
            int xLo = j == 0 ? 0 : lo, xHi = j == cols - 1 ? p : p - hiCut;
            var row = idx.AsSpan((1 + i * cols + j) * perCrop, perCrop);
            for (int y = 0; y < p; y++)
            for (int x = 0; x < p; x++)
            {
                bool kept = y >= yLo && y < yHi && x >= xLo && x < xHi;
                int gy = i * window + y, gx = j * window + x;
                row[y * p + x] = kept ? hiStart + (long)gy * (cp + 1) + gx : -100;
            }
        }
        return idx;
    }

    static void CheckTiling(int rows, int cols)
    {
        if (rows < 1 || cols < 1) throw new ArgumentOutOfRangeException(nameof(rows), $"tiling {rows}×{cols} must be at least 1×1");
    }
}
