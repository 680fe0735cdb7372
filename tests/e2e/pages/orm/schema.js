// The e2e ORM app's Drizzle schema (tests/e2e/run.mjs, "ORM:" scenarios).
// drizzle/ beside it is drizzle-kit's output for this file, checked in
// unchanged: in a scratch directory with drizzle-kit 0.31 and drizzle-orm
// 0.45 installed (drizzle-kit is no dev dependency of ours),
//   npx drizzle-kit generate --dialect postgresql --schema schema.js --out drizzle --name init
import { relations, sql } from 'drizzle-orm';
import { bigint, date, index, integer, jsonb, pgEnum, pgTable, serial, text, timestamp, varchar, vector } from 'drizzle-orm/pg-core';

export const postStatus = pgEnum('post_status', ['draft', 'published', 'archived']);

export const authors = pgTable('authors', {
  id: serial('id').primaryKey(),
  name: text('name').notNull(),
  email: varchar('email', { length: 120 }).notNull().unique(),
  joinedAt: timestamp('joined_at', { withTimezone: true }).notNull().defaultNow(),
});

export const posts = pgTable('posts', {
  id: serial('id').primaryKey(),
  authorId: integer('author_id').notNull().references(() => authors.id, { onDelete: 'cascade' }),
  title: text('title').notNull(),
  status: postStatus('status').notNull().default('draft'),
  tags: jsonb('tags'),
  views: bigint('views', { mode: 'bigint' }).notNull().default(sql`0`),
  publishedOn: date('published_on'),
  embedding: vector('embedding', { dimensions: 3 }),
}, (t) => [
  index('posts_author_idx').on(t.authorId),
  index('posts_embedding_idx').using('hnsw', t.embedding.op('vector_l2_ops')),
]);

export const authorsRelations = relations(authors, ({ many }) => ({ posts: many(posts) }));
export const postsRelations = relations(posts, ({ one }) => ({
  author: one(authors, { fields: [posts.authorId], references: [authors.id] }),
}));
