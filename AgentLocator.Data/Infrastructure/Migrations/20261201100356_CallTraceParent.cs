using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AgentLocator.Data.Infrastructure.Migrations
{
    /// <inheritdoc />
    public partial class CallTraceParent : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "trace_parent",
                table: "calls",
                type: "text",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "trace_parent",
                table: "calls");
        }
    }
}
