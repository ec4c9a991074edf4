namespace Molmo.Synthetic;

/// <summary>Word lists the chart, table and document generators draw names from.</summary>
public static class Vocabulary
{
    /// <summary>A category family: the noun for one category, the categories, and measures that fit them.</summary>
    public sealed record Topic(string Noun, string[] Categories, string[] Measures, bool Ordered = false);

    public static readonly IReadOnlyList<Topic> Topics =
    [
        new("fruit", ["Apples", "Bananas", "Cherries", "Grapes", "Mangoes", "Oranges", "Pears", "Plums", "Kiwis"], ["Sales (tons)", "Price ($/kg)", "Harvest (crates)"]),
        new("city", ["Berlin", "Cairo", "Denver", "Lima", "Madrid", "Nairobi", "Oslo", "Perth", "Seoul", "Tokyo", "Quito"], ["Rainfall (mm)", "Visitors (thousands)", "New homes", "Bike trips (k)"]),
        new("month", ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], ["Revenue ($k)", "Temperature (°C)", "Orders", "Website visits (k)"], Ordered: true),
        new("year", ["2015", "2016", "2017", "2018", "2019", "2020", "2021", "2022", "2023", "2024"], ["Revenue ($M)", "Members", "Exports ($B)", "Patents filed"], Ordered: true),
        new("department", ["Sales", "Marketing", "R&D", "Support", "HR", "Finance", "Legal", "IT"], ["Employees", "Budget ($M)", "Open tickets"]),
        new("sport", ["Soccer", "Tennis", "Cycling", "Swimming", "Running", "Golf", "Hockey", "Rowing"], ["Participants", "Club members", "Events held"]),
        new("product", ["Laptops", "Phones", "Tablets", "Monitors", "Cameras", "Headphones", "Printers"], ["Units sold", "Returns", "Profit ($k)"]),
        new("channel", ["Email", "Search", "Social", "Referral", "Direct", "Video", "Podcasts"], ["Visitors", "Sign-ups", "Conversions"]),
        new("crop", ["Wheat", "Maize", "Rice", "Barley", "Soy", "Oats", "Rye"], ["Yield (t/ha)", "Area (kha)", "Output (kt)"]),
    ];

    public static readonly string[][] SeriesNames =
    [
        ["2022", "2023", "2024"], ["North", "South", "East", "West"], ["Store A", "Store B", "Store C"],
        ["Online", "In store", "Phone"], ["Team Red", "Team Blue", "Team Green"], ["Plan", "Actual"],
    ];

    public static readonly string[] FirstNames = ["Ana", "Ben", "Chloe", "Diego", "Emma", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi", "Liam", "Maya", "Noah", "Olga", "Priya", "Quinn", "Ravi", "Sara", "Tomas", "Uma", "Victor", "Wen", "Yara", "Zoe"];
    public static readonly string[] LastNames = ["Adams", "Baker", "Chen", "Diaz", "Evans", "Fischer", "Garcia", "Hansen", "Ito", "Jones", "Kim", "Lopez", "Moreau", "Nowak", "Okafor", "Patel", "Rossi", "Silva", "Tanaka", "Weber"];
    public static readonly string[] Cities = ["Austin", "Bergen", "Cork", "Dakar", "Essen", "Fresno", "Graz", "Hanoi", "Izmir", "Jaipur", "Kyoto", "Leeds", "Malmo", "Nantes", "Osaka", "Porto", "Quebec", "Riga", "Turin", "Utrecht"];
    public static readonly string[] Stores = ["Green Leaf Market", "Corner Bakery", "Blue Harbor Cafe", "City Hardware", "Sunrise Grocers", "Paper & Ink", "Maple Pharmacy", "Lucky Noodle House"];
    public static readonly string[] Items = ["Coffee", "Bagel", "Milk 1L", "Eggs (12)", "Bread", "Apples 1kg", "Cheese", "Pasta", "Olive oil", "Tomatoes", "Notebook", "Pen set", "Batteries", "Tea", "Yogurt", "Rice 2kg", "Soap", "Orange juice", "Chocolate", "Light bulb"];
    public static readonly string[] Departments = ["Sales", "Marketing", "Research", "Support", "Finance", "Logistics", "Legal", "Design"];
    public static readonly string[] Process =
    [
        "Receive order", "Check stock", "Pack items", "Print label", "Ship parcel", "Send invoice", "Collect data", "Clean data",
        "Train model", "Evaluate model", "Deploy", "Write draft", "Review draft", "Publish", "Plan sprint", "Build feature",
        "Run tests", "Fix bugs", "Release", "Gather feedback",
    ];
}
