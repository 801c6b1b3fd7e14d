using AgentLocator.Data.Model;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AgentLocator.Data.Infrastructure.EntityConfigurations;

internal sealed class MessageConfiguration : IEntityTypeConfiguration<Message>
{
    public void Configure(EntityTypeBuilder<Message> builder)
    {
        builder.ToTable("messages");
        builder.HasIndex(m => m.MessageSid).IsUnique().HasFilter("message_sid IS NOT NULL");
        builder.HasIndex(m => new { m.CustomerId, m.CreatedAt });
        builder.HasIndex(m => m.BusinessId);
        builder.HasOne<Business>().WithMany().HasForeignKey(m => m.BusinessId).OnDelete(DeleteBehavior.Restrict);
        builder.HasOne<Customer>().WithMany().HasForeignKey(m => m.CustomerId).OnDelete(DeleteBehavior.SetNull);
        builder.HasOne<Call>().WithMany().HasForeignKey(m => m.CallId).OnDelete(DeleteBehavior.SetNull);
    }
}

internal sealed class JobConfiguration : IEntityTypeConfiguration<Job>
{
    public void Configure(EntityTypeBuilder<Job> builder)
    {
        builder.ToTable("jobs");
        builder.Property(j => j.Id).UseIdentityByDefaultColumn();
        builder.Property(j => j.Payload).HasColumnType("jsonb");
        builder.HasIndex(j => j.DedupKey).IsUnique().HasFilter("dedup_key IS NOT NULL");
        builder.HasIndex(j => new { j.Status, j.RunAt });
    }
}
