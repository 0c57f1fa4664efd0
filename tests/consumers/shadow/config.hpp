// The consumer's own config.hpp: corral must never include it in place of its own header.
#error "shadowed: corral picked up the consumer's config.hpp"
