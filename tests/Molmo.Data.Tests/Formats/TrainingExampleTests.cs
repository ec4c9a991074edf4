using Molmo.Data.Datasets;
using Molmo.Data.Formats;

namespace Molmo.Data.Tests.Formats;

public class TrainingExampleTests
{
    static string StripTag(string text, string style) => text.StartsWith(style + ": ", StringComparison.Ordinal) ? text[(style.Length + 2)..] : text;

    [Fact]
    public void Demo_styles_are_tagged_about_ten_percent_of_the_time_others_always()
    {
        var rng = new Random(1);
        int tagged = Enumerable.Range(0, 20000).Count(_ => StylePrefix.DemoOrStyle("pointing", "Point to cats", rng).StartsWith("pointing: "));
        Assert.InRange(tagged, 1700, 2300);
        Assert.Equal("vqa2: What color is the bus?", StylePrefix.DemoOrStyle("vqa2", "What color is the bus?", rng));
        Assert.Equal("click the button", StylePrefix.DemoOrStyle("android_control", "click the button", rng));
    }

    [Fact]
    public void Length_hints_follow_the_floor_formula_and_keep_the_stray_space()
    {
        var caption = new string('a', 1245); // 1245 / 15 = 83
        // 0.5 < 0.9 → hint; Box–Muller with u1 = 0.5, u2 = 0.25 gives cos(π/2) ≈ 0 → noise 0.
        Assert.Equal("long_caption 83:", StylePrefix.LengthConditioned("long_caption", caption, new ScriptedRandom(0.5, 0.5, 0.25)));
        Assert.Equal("transcript :", StylePrefix.LengthConditioned("transcript", caption, new ScriptedRandom(0.95)));
        Assert.Equal("long_caption 65:", StylePrefix.LengthPrompt());
        // Negative sums use floor division like Python's //: u1 = 1 - 0.7308, u2 = 0.5 gives z ≈ -1.620, noise = trunc(-40.5) = -40,
        // and (11 - 40) // 15 = -2 (truncation would give -1).
        Assert.Equal(-2, StylePrefix.LengthHint(11, new ScriptedRandom(0.7308, 0.5)));
        var rng = new Random(7);
        var mean = Enumerable.Range(0, 20000).Average(_ => (double)StylePrefix.LengthHint(975, rng));
        Assert.InRange(mean, 64.0, 65.5);
        Assert.True(Enumerable.Range(0, 2000).Select(_ => StylePrefix.LengthHint(5, rng)).Any(l => l < 0), "short targets can get negative hints (floor division)");
    }

    [Fact]
    public void Caption_pretraining_packs_caption_and_one_transcript_without_role_wrapper()
    {
        var row = new PixmoCapRow("u", new string('c', 150), ["first transcript", "second transcript"]);
        var convs = TrainingExamples.CaptionPretraining(row, new Random(3));
        Assert.Equal(2, convs.Count);
        Assert.Equal(["long_caption", "transcript"], convs.Select(c => c.Style).Order());
        var segs = ConversationPacker.Pack(convs, MessageFormat.None, rootWeighting: false);
        Assert.Equal(4, segs.Count);
        Assert.All(segs, s => Assert.StartsWith(" ", s.Text));
        Assert.DoesNotContain(segs, s => s.Text.Contains("User:"));
        var captionPrompt = segs.First(s => s.Text.StartsWith(" long_caption")).Text;
        Assert.Matches(@"^ long_caption (-?\d+ )?:$|^ long_caption -?\d+:$", captionPrompt);
        Assert.All(segs.Where(s => s.IsTarget), s => Assert.True(s.AppendEos && s.LossWeight == 1.0));
        Assert.Contains(segs, s => s.IsTarget && (s.Text == " first transcript" || s.Text == " second transcript"));
    }

    [Fact]
    public void Role_format_loss_masks_and_root_weighting()
    {
        var convs = Enumerable.Range(0, 4).Select(i => Conversation.SingleTurn("user_qa", $"q{i}", $"a{i}")).ToList();
        var segs = ConversationPacker.Pack(convs, MessageFormat.Role, rootWeighting: true);
        Assert.Equal(" User: q0 Assistant:", segs[0].Text);
        Assert.False(segs[0].IsTarget);
        Assert.Equal(" a0", segs[1].Text);
        Assert.True(segs[1].IsTarget && segs[1].AppendEos);
        Assert.Equal(0.5, segs[1].LossWeight, 12);
        Assert.Equal([1, 1, 2, 2, 3, 3, 4, 4], segs.Select(s => s.Subsegment));
        Assert.Throws<ArgumentException>(() => new Conversation("x", [new Message(MessageRole.Assistant, "a")]));
    }

    [Fact]
    public void CapQa_prefixes_the_matching_how_many_turn_not_the_first()
    {
        var row = new PixmoCapQaRow("u", null, null, ["What is it?", "A cat.", "How many cats are there?", "One."]);
        var conv = TrainingExamples.CapQa(row, new Random(5));
        Assert.Equal("synthetic_qa", conv.Style);
        Assert.Equal("synthetic_qa: What is it?", conv.Messages[0].Text);
        var third = conv.Messages[2].Text;
        Assert.EndsWith(" How many cats are there?", third);
        Assert.Contains(PromptTemplates.AnswerWithoutPointing, p => third.StartsWith(p + " ", StringComparison.Ordinal));
        Assert.Equal("One.", conv.Messages[3].Text);
        var segs = ConversationPacker.Format(conv, MessageFormat.Role);
        Assert.Equal([false, true, false, true], segs.Select(s => s.IsTarget));
    }

    [Fact]
    public void AskModelAnything_makes_one_conversation_per_question()
    {
        PixmoAskModelAnythingRow[] rows = [new("u", "s", "How many dogs?", "Two."), new("u", "s", "What breed?", "Beagles.")];
        var convs = TrainingExamples.AskModelAnything(rows, new Random(2));
        Assert.Equal(2, convs.Count);
        Assert.EndsWith("How many dogs?", StripTag(convs[0].Messages[0].Text, "user_qa"));
        Assert.NotEqual("How many dogs?", StripTag(convs[0].Messages[0].Text, "user_qa"));
        Assert.Equal("What breed?", StripTag(convs[1].Messages[0].Text, "user_qa"));
        Assert.Equal("Beagles.", convs[1].Messages[1].Text);
    }

    [Fact]
    public void Points_rows_give_prompts_from_the_templates_and_formatted_answers()
    {
        var row = new PixmoPointsRow("u", "s", [new(79.87, 71.57), new(10.99, 84.14)], 2, "Black Bomb", "counting");
        var rng = new Random(11);
        var pointing = TrainingExamples.Points(row, PointingForm.Pointing, rng);
        Assert.Equal("pointing", pointing.Style);
        var prompt = StripTag(pointing.Messages[0].Text, "pointing");
        Assert.Contains(PromptTemplates.Pointing, t => t.Replace("{label}", "black bomb") == prompt);
        Assert.Equal("<points x1=\"11.0\" y1=\"84.1\" x2=\"79.9\" y2=\"71.6\" alt=\"black bomb\">black bomb</points>", pointing.Messages[1].Text);

        var counting = TrainingExamples.Points(row, PointingForm.PointCount, rng);
        Assert.Equal("point_count", counting.Style);
        Assert.Contains(PromptTemplates.PointCount, t => t.Replace("{label}", "black bomb") == StripTag(counting.Messages[0].Text, "point_count"));
        Assert.EndsWith("shows a total of 2.", counting.Messages[1].Text);

        var absent = new PixmoPointsRow("u", "s", [], 0, "giraffe", "pointing");
        Assert.Equal("There are none.", TrainingExamples.Points(absent, PointingForm.PointCount, rng).Messages[1].Text);
    }

    [Fact]
    public void Count_rows_convert_pixels_to_percent_before_formatting()
    {
        var row = new PixmoCountRow("u", "s", 2, [new(320, 240), new(64, 48)], "person");
        var conv = TrainingExamples.Count(row, 640, 480, PointingForm.PointCount, new Random(1));
        Assert.Equal("Counting the <points x1=\"10.0\" y1=\"10.0\" x2=\"50.0\" y2=\"50.0\" alt=\"person\">person</points> shows a total of 2.",
            conv.Messages[1].Text);
        var evalRow = new PixmoCountRow("u", "s", 5, [], "car");
        Assert.Contains("count 5 but 0 points", Assert.Throws<ArgumentException>(() => TrainingExamples.Count(evalRow, 10, 10, PointingForm.PointCount, new Random(1))).Message);
    }

    [Fact]
    public void Docs_rows_flatten_to_one_tagged_conversation_per_question()
    {
        var row = new PixmoDocsRow(PixmoDocsConfig.Charts, "c1", [1], null, [new("Total?", "42"), new("Which year is highest?", "2019")]);
        var convs = TrainingExamples.Docs(row);
        Assert.Equal(2, convs.Count);
        Assert.Equal("pixmo_docs_charts: Total?", convs[0].Messages[0].Text);
        Assert.Equal("2019", convs[1].Messages[1].Text);
        Assert.All(convs, c => Assert.Equal("pixmo_docs_charts", c.Style));
    }

    [Fact]
    public void Point_explanation_is_tagged_point_qa()
    {
        var row = new PixmoPointExplanationsRow("u", "s", "Which is ripest?", "This one <|POINT|>.", ["banana"], ["ripest banana"],
            [[new PixmoPoint(21.3, 55)]]);
        var conv = TrainingExamples.PointExplanation(row);
        Assert.Equal("point_qa: Which is ripest?", conv.Messages[0].Text);
        Assert.Equal("This one <point x=\"21.3\" y=\"55.0\" alt=\"ripest banana\">banana</point>.", conv.Messages[1].Text);
    }

    [Fact]
    public void Point_explanations_of_one_image_split_into_two_examples()
    {
        PixmoPointExplanationsRow Row(string q) => new("u", "s", q, "It is here <|POINT|>.", ["it"], ["it"], [[new PixmoPoint(1, 2)]]);
        var three = TrainingExamples.PointExplanationExamples([Row("a?"), Row("b?"), Row("c?")]);
        Assert.Equal([2, 1], three.Select(e => e.Count));
        Assert.Equal("point_qa: c?", three[1][0].Messages[0].Text);
        Assert.Single(TrainingExamples.PointExplanationExamples([Row("only?")]));
        Assert.Empty(TrainingExamples.PointExplanationExamples([]));
    }

    [Fact]
    public void Fine_tune_caption_uses_a_natural_prompt()
    {
        var conv = TrainingExamples.CaptionFineTune(new PixmoCapRow("u", "A long caption.", []), new Random(4));
        Assert.Contains(StripTag(conv.Messages[0].Text, "long_caption"), PromptTemplates.LongCaption);
        Assert.Equal("A long caption.", conv.Messages[1].Text);
    }
}
