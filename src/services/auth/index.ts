export * from './credentials.js'
