using AgentLocator.Data.Model;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AgentLocator.Data.Infrastructure.EntityConfigurations;

internal sealed class CustomerConfiguration : IEntityTypeConfiguration<Customer>
{
    public void Configure(EntityTypeBuilder<Customer> builder)
    {
        builder.ToTable("customers");
        builder.Property(c => c.Source).IsRequired();
        builder.HasOne<Business>().WithMany().HasForeignKey(c => c.BusinessId).OnDelete(DeleteBehavior.Restrict);
        // One customer per phone number within a business; anonymous callers have none.
        builder.HasIndex(c => new { c.BusinessId, c.Phone }).IsUnique().HasFilter("phone IS NOT NULL");
        builder.HasIndex(c => c.Phone);
        builder.HasIndex(c => new { c.BusinessId, c.WaId });
    }
}
