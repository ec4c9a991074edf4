using Molmo.Imaging;

namespace Molmo.Tests.Imaging;

/// <summary>A machine without fontconfig (the lent GPU machines' image) cannot load libSkiaSharp: the error says so and how to fix it.</summary>
public class SkiaNativeTests
{
    [Fact]
    public void LoadsHere() => SkiaNative.Ensure();

    [Fact]
    public void AMissingFontconfigIsNamedWithItsFix()
    {
        // The exception SkiaSharp 4.155 raised on a machine without libfontconfig (its loader lists every path it tried).
        var dll = new DllNotFoundException(
            "Unable to load shared library 'libSkiaSharp' or one of its dependencies. In order to help diagnose loading problems, consider using a tool like strace.\n" +
            "libfontconfig.so.1: cannot open shared object file: No such file or directory\n" +
            "libSkiaSharp.so: cannot open shared object file: No such file or directory\n" +
            "/app/liblibSkiaSharp.so: cannot open shared object file: No such file or directory\n");
        var e = new TypeInitializationException("SkiaSharp.SkiaApi", new TypeInitializationException("SkiaSharp.SKImageInfo", dll));
        var message = SkiaNative.Explain(e);
        Assert.Contains("libfontconfig.so.1: cannot open shared object file", message);
        Assert.Contains("apt-get install libfontconfig1", message);
        Assert.Contains("LD_LIBRARY_PATH", message);
    }

    [Fact]
    public void AnotherLoadFailureKeepsTheLoadersReason()
    {
        var message = SkiaNative.Explain(new DllNotFoundException("Unable to load shared library 'libSkiaSharp': wrong ELF class: ELFCLASS32"));
        Assert.Contains("wrong ELF class", message);
        Assert.DoesNotContain("fontconfig", message);
    }
}
