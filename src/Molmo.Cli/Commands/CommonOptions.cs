using System.CommandLine;

namespace Molmo.Cli.Commands;

/// <summary>Options shared by the model commands.</summary>
internal static class CommonOptions
{
    public static Option<string> Device() => new("--device") { Description = "cpu, cuda or cuda:N", DefaultValueFactory = _ => "cpu" };
    public static Option<string> DType() => new("--dtype") { Description = "fp32, bf16, int8 or int4 (weight-only int8 / int4 decoder matrices, bf16 elsewhere)", DefaultValueFactory = _ => "fp32" };
    public static Option<bool> Force() => new("--force") { Description = "overwrite the output file if it exists" };

    /// <summary>--batch: how many requests are decoded together (at least 1).</summary>
    public static Option<int> Batch(string description, int defaultValue)
    {
        var batch = new Option<int>("--batch") { Description = description, DefaultValueFactory = _ => defaultValue };
        batch.Validators.Add(r => { if (r.GetValueOrDefault<int>() < 1) r.AddError("--batch must be at least 1"); });
        return batch;
    }

    /// <summary>Refuses to overwrite an existing file unless --force, so nothing a user had is lost.</summary>
    public static void CheckWritable(string path, bool force)
    {
        if (File.Exists(path) && !force) throw new IOException($"{path} already exists; pass --force to overwrite it");
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir != null && !Directory.Exists(dir)) throw new DirectoryNotFoundException($"output folder {dir} does not exist");
    }
}
