namespace Molmo.Tests;

/// <summary>The published test assembly's own runner (used on machines without the SDK) finds, runs and filters tests.</summary>
public class SelfRunnerTests
{
    [Fact]
    public void RunsTheFilteredTestsAndRejectsUnknownArguments()
    {
        Assert.Equal(0, SelfRunner.Main(["--filter", "Molmo.Tests.Model.RotaryEmbeddingTests", "--exclude", "BFloat16"]));
        Assert.Equal(2, SelfRunner.Main(["--bogus"]));
        Assert.Equal(3, SelfRunner.Main(["--filter", "Molmo.Tests.NoSuchTest"]));
    }
}
