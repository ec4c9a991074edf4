using Molmo.Text;

namespace Molmo.Tests.Text;

public class PromptBuilderTests
{
    [Fact]
    public void UserTurnHasLeadingSpaceAndNoTrailingSpace()
    {
        Assert.Equal(" User: Describe this image. Assistant:", PromptBuilder.UserTurn("Describe this image."));
        Assert.Equal(" User: vqa2: What color is the car? Assistant:", PromptBuilder.UserTurn("What color is the car?", "vqa2"));
        Assert.Equal(" User: hi Assistant:", PromptBuilder.UserTurn("hi", "  "));
    }

    [Fact]
    public void EvalStylesMapToTrainingStyles()
    {
        Assert.Equal("vqa2", PromptBuilder.ResolveStyle("eval_short_answer"));
        Assert.Equal("a_okvqa_mc", PromptBuilder.ResolveStyle("eval_multiple_choice"));
        Assert.Equal("chart_qa", PromptBuilder.ResolveStyle(" chart_qa "));
        Assert.Null(PromptBuilder.ResolveStyle(null));
        Assert.Equal(" User: vqa2: Q Assistant:", PromptBuilder.UserTurn("Q", "eval_short_answer"));
    }

    [Fact]
    public void LengthHintUsesASpaceBeforeTheNumber()
    {
        Assert.Equal("long_caption 65:", PromptBuilder.LengthHint());
        Assert.Equal("transcript 40:", PromptBuilder.LengthHint(40, "transcript"));
        Assert.Equal(" User: long_caption 65: Assistant:", PromptBuilder.CaptionPrompt());
        Assert.Throws<ArgumentOutOfRangeException>(() => PromptBuilder.LengthHint(-1));
    }

    [Fact]
    public void ConversationTokensAreMessagesTokenisedSeparatelyWithEosAfterAnswers()
    {
        var tok = TokenizerFixtures.Qwen;
        string[] messages = ["What is this?", "A cat.", "What color is it?", "Black.", "How many legs?"];
        var ids = PromptBuilder.EncodeConversation(tok, messages, "vqa2");

        var expected = new List<int>();
        expected.AddRange(tok.Encode(" User: vqa2: What is this? Assistant:"));
        expected.AddRange(tok.Encode(" A cat."));
        int firstEos = expected.Count;
        expected.Add(tok.EosId);
        expected.AddRange(tok.Encode(" User: What color is it? Assistant:"));
        expected.AddRange(tok.Encode(" Black."));
        int secondEos = expected.Count;
        expected.Add(tok.EosId);
        expected.AddRange(tok.Encode(" User: How many legs? Assistant:"));
        Assert.Equal(expected, ids);

        // EOS exactly after each assistant message, and the sequence ends with " Assistant:".
        var eosPositions = ids.Select((id, i) => (id, i)).Where(t => t.id == tok.EosId).Select(t => t.i).ToArray();
        Assert.Equal(new[] { firstEos, secondEos }, eosPositions);
        Assert.EndsWith(PromptBuilder.AssistantSuffix, tok.Decode(ids));
        Assert.Equal(tok.Encode(PromptBuilder.AssistantSuffix), ids[^tok.Encode(PromptBuilder.AssistantSuffix).Length..]);
    }

    [Fact]
    public void SingleMessageConversationEqualsTheSingleTurnPrompt()
    {
        var tok = TokenizerFixtures.Qwen;
        Assert.Equal(PromptBuilder.EncodePrompt(tok, "Point to the eyes", "pointing"),
            PromptBuilder.EncodeConversation(tok, ["Point to the eyes"], "pointing"));
    }

    [Fact]
    public void FormatConversationPutsTheStyleOnTheFirstUserMessageOnly()
    {
        Assert.Equal(
            [" User: vqa2: q1 Assistant:", " a1", " User: q2 Assistant:"],
            PromptBuilder.FormatConversation(["q1", "a1", "q2"], "vqa2"));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(4)]
    public void ConversationMustEndWithAUserMessage(int count)
    {
        var messages = Enumerable.Range(0, count).Select(i => "m" + i).ToArray();
        var e = Assert.Throws<ArgumentException>(() => PromptBuilder.EncodeConversation(TokenizerFixtures.Qwen, messages));
        Assert.Contains("odd", e.Message);
    }

    [Fact]
    public void BuildInputIdsIsBosThenImageThenText()
    {
        Assert.Equal(new[] { 9, 1, 2, 3, 7, 8 }, PromptBuilder.BuildInputIds(9, new[] { 1, 2, 3 }, new[] { 7, 8 }));
        Assert.Equal(new[] { 9, 7 }, PromptBuilder.BuildInputIds(9, ReadOnlySpan<int>.Empty, new[] { 7 }));
    }

    [Fact]
    public void PointAnswerTextRoundTrips()
    {
        // Spec §7 output format: the tokenizer must give such answers back unchanged.
        var tok = TokenizerFixtures.Qwen;
        const string answer = " <points x1=\"12.5\" y1=\"40.0\" x2=\"80.1\" y2=\"33.3\" alt=\"dogs\">dogs</points>";
        Assert.Equal(answer, tok.Decode(tok.Encode(answer)));
    }
}
