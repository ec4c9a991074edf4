using global::Parquet;
using global::Parquet.Serialization;
using Molmo.Synthetic.Charts;
using Molmo.Synthetic.Clocks;
using Molmo.Synthetic.Counting;
using Molmo.Synthetic.Documents;

namespace Molmo.Synthetic.Parquet;

/// <summary>What to generate: <see cref="Count"/> rows of <see cref="Kind"/> from <see cref="Seed"/>, images <see cref="Size"/> px wide.</summary>
public sealed record GenerationRequest(SyntheticKind Kind, int Count, long Seed, int Size)
{
    /// <summary>Worker threads (default: all cores). The output does not depend on it.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;
    /// <summary>Rows per Parquet row group (and per generation batch).</summary>
    public int RowGroupSize { get; init; } = 64;
}

/// <summary>
/// Generates rows in parallel batches and writes them as one Parquet file. Row i depends only on (seed, i), so the file is the
/// same for any thread count. The file is written next to the target as FILE.tmp and moved into place at the end; an existing
/// file is only replaced when <c>overwrite</c> is true.
/// </summary>
public static class SyntheticDatasetWriter
{
    public const string KindKey = "molmo.synthetic.kind";

    /// <summary>Builds row <paramref name="index"/> of the requested kind (a <see cref="ClockRow"/>, <see cref="DocRow"/> or <see cref="CountRow"/>).</summary>
    public static object GenerateRow(SyntheticKind kind, long seed, long index, int size) => kind switch
    {
        SyntheticKind.Clocks => ClockGenerator.Generate(seed, index, size).Row,
        SyntheticKind.Charts => ChartGenerator.Generate(seed, index, size).Row,
        SyntheticKind.Tables => TableGenerator.Generate(seed, index, size).Row,
        SyntheticKind.Docs => DocumentGenerator.Generate(seed, index, size).Row,
        SyntheticKind.Count => CountSceneGenerator.Generate(seed, index, size).Row,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown generator"),
    };

    public static Task WriteAsync(GenerationRequest request, string path, bool overwrite = false,
        IProgress<int>? progress = null, CancellationToken ct = default) => request.Kind switch
    {
        SyntheticKind.Clocks => WriteAsync<ClockRow>(request, path, overwrite, progress, ct),
        SyntheticKind.Count => WriteAsync<CountRow>(request, path, overwrite, progress, ct),
        _ => WriteAsync<DocRow>(request, path, overwrite, progress, ct),
    };

    static async Task WriteAsync<T>(GenerationRequest req, string path, bool overwrite, IProgress<int>? progress, CancellationToken ct)
        where T : class, new()
    {
        if (req.Count < 1) throw new ArgumentOutOfRangeException(nameof(req), $"--n must be at least 1 (got {req.Count})");
        if (req.Size is < 32 or > 4096) throw new ArgumentOutOfRangeException(nameof(req), $"--size must be between 32 and 4096 px (got {req.Size})");
        if (File.Exists(path) && !overwrite)
            throw new IOException($"{path} already exists; pass --force to overwrite it");
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        string tmp = path + ".tmp";
        var meta = new Dictionary<string, string>
        {
            [KindKey] = req.Kind.Name(),
            ["molmo.synthetic.seed"] = req.Seed.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["molmo.synthetic.size"] = req.Size.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        try
        {
            await using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.ReadWrite, FileShare.None))
            {
                int done = 0;
                for (int start = 0; start < req.Count; start += req.RowGroupSize)
                {
                    ct.ThrowIfCancellationRequested();
                    int n = Math.Min(req.RowGroupSize, req.Count - start);
                    var rows = new T[n];
                    Parallel.For(0, n, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, req.Threads), CancellationToken = ct },
                        i => rows[i] = (T)GenerateRow(req.Kind, req.Seed, start + i, req.Size));
                    var options = new ParquetOptions { Append = start > 0, RowGroupSize = req.RowGroupSize };
                    await ParquetSerializer.SerializeAsync(rows, fs, options, start == 0 ? meta : null, ct).ConfigureAwait(false);
                    done += n;
                    progress?.Report(done);
                }
            }
            File.Move(tmp, path, overwrite);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { }
            throw;
        }
    }

    /// <summary>Reads a whole file written by this class back as typed rows (for tests and small files).</summary>
    public static async Task<IList<T>> ReadAllAsync<T>(string path, CancellationToken ct = default) where T : class, new()
    {
        await using var fs = File.OpenRead(path);
        var result = await ParquetSerializer.DeserializeAsync<T>(fs, null, null, ct).ConfigureAwait(false);
        return result.Data;
    }
}
