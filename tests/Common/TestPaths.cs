namespace Molmo.TestSupport;

/// <summary>Locates the repository and the read-only <c>../shared</c> folder (golden files, model configs).</summary>
public static class TestPaths
{
    static readonly Lazy<string> _repo = new(() =>
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "Molmo.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new DirectoryNotFoundException("cannot find Molmo.sln above " + AppContext.BaseDirectory);
    });

    /// <summary>Repository root (the folder holding Molmo.sln).</summary>
    public static string Repo => _repo.Value;

    /// <summary>The shared folder: $MOLMO_SHARED if set, else ../shared beside the repository.</summary>
    public static string Shared
    {
        get
        {
            var env = Environment.GetEnvironmentVariable("MOLMO_SHARED");
            var path = !string.IsNullOrEmpty(env) ? env : Path.GetFullPath(Path.Combine(Repo, "..", "shared"));
            if (!Directory.Exists(path)) throw new DirectoryNotFoundException($"shared folder not found at {path} (set MOLMO_SHARED)");
            return path;
        }
    }

    public static string Golden => Path.Combine(Shared, "golden");
    public static string Models => Path.Combine(Shared, "models");

    static readonly List<string> Created = [];

    static TestPaths() => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
    {
        lock (Created)
            foreach (var d in Created)
                try { Directory.Delete(d, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    };

    /// <summary>A fresh empty temporary directory, deleted when the test process exits.</summary>
    public static string NewTempDir(string prefix = "molmo-test")
    {
        var d = Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(d);
        lock (Created) Created.Add(d);
        return d;
    }
}
