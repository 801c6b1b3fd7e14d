Console.WriteLine("AgentLocator.AppHost");
