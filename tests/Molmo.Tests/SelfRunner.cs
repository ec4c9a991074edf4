using System.Reflection;
using Xunit.Sdk;

namespace Molmo.Tests;

/// <summary>
/// The test assembly's own entry point, for machines without the .NET SDK (the lent GPU machines): a published, self-contained
/// <c>Molmo.Tests</c> runs its <c>[Fact]</c>/<c>[Theory]</c> methods itself. <c>dotnet test</c> does not use this (it loads the
/// assembly through its test host). Usage: <c>Molmo.Tests [--filter TEXT]… [--exclude TEXT]…</c> — runs the tests whose full
/// name contains any filter TEXT (all without a filter), leaving out the tests and data rows whose name or arguments contain an
/// exclude TEXT; prints each failure, and ends with one line "N passed, N failed". Test classes that take
/// constructor arguments (fixtures, output helpers) are skipped and counted as such.
/// </summary>
public static class SelfRunner
{
    static string YesNo(bool b) => b ? "yes" : "no";

    public static int Main(string[] args)
    {
        var filters = new List<string>();
        var excludes = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--filter" && i + 1 < args.Length) filters.Add(args[++i]);
            else if (args[i] == "--exclude" && i + 1 < args.Length) excludes.Add(args[++i]);
            else { Console.Error.WriteLine($"usage: Molmo.Tests [--filter TEXT]… [--exclude TEXT]… (unexpected '{args[i]}')"); return 2; }
        }
        // Which kernel paths the tests take here (the CPU kernels have AVX-512 and AVX2 paths; DOTNET_EnableAVX512=0 hides AVX-512).
        Console.WriteLine($"instruction sets: AVX-512 {YesNo(System.Runtime.Intrinsics.X86.Avx512F.IsSupported)}, AVX2 {YesNo(System.Runtime.Intrinsics.X86.Avx2.IsSupported)}");
        int passed = 0, failed = 0, skipped = 0;
        var types = typeof(SelfRunner).Assembly.GetTypes().Where(t => t.IsClass && t.IsPublic && !t.IsAbstract).OrderBy(t => t.FullName);
        foreach (var type in types)
            foreach (var method in type.GetMethods(BindingFlags.Public | BindingFlags.Instance).OrderBy(m => m.Name))
            {
                if (method.GetCustomAttribute<FactAttribute>() is not { } fact) continue;     // [Theory] is a [Fact] too
                var name = $"{type.FullName}.{method.Name}";
                if (filters.Count > 0 && !filters.Any(f => name.Contains(f, StringComparison.Ordinal))) continue;
                if (fact.Skip is not null || type.GetConstructor(Type.EmptyTypes) is null) { skipped++; continue; }
                IEnumerable<object?[]> rows = fact is TheoryAttribute
                    ? method.GetCustomAttributes<DataAttribute>().SelectMany(d => d.GetData(method))
                    : [[]];
                foreach (var row in rows)
                {
                    var label = row.Length == 0 ? name : $"{name}({string.Join(", ", row)})";
                    if (excludes.Any(x => label.Contains(x, StringComparison.Ordinal))) continue;
                    object? instance = null;
                    try
                    {
                        instance = Activator.CreateInstance(type);
                        if (method.Invoke(instance, row) is Task task) task.GetAwaiter().GetResult();
                        passed++;
                    }
                    catch (Exception e)
                    {
                        failed++;
                        var inner = e is TargetInvocationException { InnerException: { } ie } ? ie : e;
                        Console.WriteLine($"FAIL {label}: {inner.GetType().Name}: {inner.Message.Split('\n')[0]}");
                    }
                    finally { (instance as IDisposable)?.Dispose(); }
                }
            }
        if (skipped > 0) Console.WriteLine($"({skipped} test methods skipped: marked Skip, or their class needs constructor arguments)");
        Console.WriteLine($"{passed} passed, {failed} failed");
        if (passed + failed == 0) { Console.WriteLine("no test matched the filters"); return 3; }
        return failed == 0 ? 0 : 1;
    }
}
