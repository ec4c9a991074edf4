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

    /// <summary>
    /// This process's temporary folders: one folder per test process under <c>$TMPDIR/molmo-tests</c>, named after its
    /// process id. The test host is stopped soon after its last test (VSTest does not wait for exit handlers to finish), so a
    /// run's folders can outlive it (a whole run left ~0.6 GB); each process therefore also removes the folders of earlier
    /// test processes that are no longer running.
    /// </summary>
    static readonly Lazy<string> ProcessTemp = new(() =>
    {
        var root = Path.Combine(Path.GetTempPath(), "molmo-tests");
        Directory.CreateDirectory(root);
        foreach (var stale in Directory.EnumerateDirectories(root))
            if (int.TryParse(Path.GetFileName(stale), out int pid) && pid != Environment.ProcessId && !IsRunning(pid))
                TryDelete(stale);
        var mine = Path.Combine(root, Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Directory.CreateDirectory(mine);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => TryDelete(mine);
        return mine;
    });

    static bool IsRunning(int pid)
    {
        try { using var p = System.Diagnostics.Process.GetProcessById(pid); return !p.HasExited; }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    static void TryDelete(string dir)
    {
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>A fresh empty temporary directory, deleted when the test process exits (or by a later test process).</summary>
    public static string NewTempDir(string prefix = "molmo-test")
    {
        var d = Path.Combine(ProcessTemp.Value, $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(d);
        return d;
    }
}
