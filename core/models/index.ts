export { PositionalEncoding, sinusoidTable } from "./positional_encoding.ts";
export { MultiHeadAttention } from "./multi_head_attention.ts";
export { FeedForwardNetwork } from "./feed_forward.ts";
export { TransformerDecoderLayer } from "./decoder_layer.ts";
export { TransformerEncoderLayer } from "./encoder_layer.ts";
export { PatchEmbedding } from "./patch_embedding.ts";
export { TransformerDecoder, TransformerEncoder, ModuleList } from "./transformer_stack.ts";
export { CaptioningTransformer } from "./captioning_transformer.ts";
export { VisionTransformer } from "./vision_transformer.ts";
